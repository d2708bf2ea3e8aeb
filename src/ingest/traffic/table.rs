//! The CSV plumbing shared by the rate-series and request-log readers: header, column lookup,
//! record loop with 1-based line numbers, and field-level errors.

use crate::error::{Error, Result};
use csv::{ByteRecord, Reader, ReaderBuilder};

/// A CSV text with its header read: the reader is positioned on the first data row.
pub(crate) struct Table<'a> {
    reader: Reader<&'a [u8]>,
    /// The header's column names (trimmed).
    pub headers: Vec<String>,
    /// The file name used in errors.
    pub source: &'a str,
    text: &'a [u8],
    /// Byte offset up to which newlines have been counted, and the line number there.
    scan_pos: usize,
    scan_line: u64,
}

impl<'a> Table<'a> {
    /// Opens `text` and reads its header (line 1). An empty text is an error.
    pub fn open(text: &'a str, source: &'a str) -> Result<Self> {
        let mut reader = ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(text.as_bytes());
        let headers: Vec<String> = reader
            .byte_headers()
            .map_err(|e| csv_error(source, &e))?
            .iter()
            .map(|h| String::from_utf8_lossy(h.trim_ascii()).into_owned())
            .collect();
        if headers.iter().all(String::is_empty) {
            return Err(Error::at_line(
                source,
                1,
                "the file is empty: it has no header and no data rows; expected a header line \
                 naming the columns followed by one row per time bin or request",
            ));
        }
        Ok(Table {
            reader,
            headers,
            source,
            text: text.as_bytes(),
            scan_pos: 0,
            scan_line: 1,
        })
    }

    /// The 1-based line on which the record reported at `byte` starts.
    ///
    /// `csv` reports the offset just past the previous record's terminator (for CRLF files, the
    /// `\n`; blank lines skipped in between are not accounted for) and its own line counter is
    /// off by one on CRLF files, so the line is counted here: skip the terminator bytes to the
    /// record's first byte, then count the line breaks (LF, CRLF or a bare CR) before it,
    /// incrementally.
    fn line_at(&mut self, byte: u64) -> u64 {
        let mut start = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        while matches!(self.text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        if start > self.scan_pos {
            let breaks = (self.scan_pos..start)
                .filter(|&i| match self.text.get(i) {
                    Some(b'\n') => true,
                    // A bare CR (old Mac line ends) also ends a line; CRLF counts once.
                    Some(b'\r') => self.text.get(i + 1) != Some(&b'\n'),
                    _ => false,
                })
                .count();
            self.scan_line += breaks as u64;
            self.scan_pos = start;
        }
        self.scan_line
    }

    /// The header's columns as `` `a`, `b`, `c` `` for error messages.
    pub fn column_list(&self) -> String {
        self.headers
            .iter()
            .map(|h| format!("`{h}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Index of the column named `name` (exact match, else ASCII-case-insensitive).
    pub fn find(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name).or_else(|| {
            self.headers
                .iter()
                .position(|h| h.eq_ignore_ascii_case(name))
        })
    }

    /// Like [`find`](Self::find), but a column the header names twice is an error: which of
    /// the two holds the data cannot be told.
    pub fn find_unique(&self, name: &str) -> Result<Option<usize>> {
        let Some(col) = self.find(name) else {
            return Ok(None);
        };
        let exact = self.headers[col] == name;
        let same = |h: &String| {
            if exact {
                h == name
            } else {
                h.eq_ignore_ascii_case(name)
            }
        };
        if let Some(other) = self
            .headers
            .iter()
            .enumerate()
            .position(|(i, h)| i != col && same(h))
        {
            return Err(Error::at_line(
                self.source,
                1,
                format!(
                    "the header names column `{}` twice (columns {} and {}): which one holds the \
                     data cannot be told; expected each column name once",
                    self.headers[col],
                    col.min(other) + 1,
                    col.max(other) + 1
                ),
            ));
        }
        Ok(Some(col))
    }

    /// Index of the required column `name`, set by the option `option`; the error lists the
    /// header's columns.
    pub fn require(&self, name: &str, option: &str) -> Result<usize> {
        self.find_unique(name)?.ok_or_else(|| {
            Error::at_line(
                self.source,
                1,
                format!(
                    "the header has no column `{name}` (option `{option}`); the header's columns \
                     are: {}",
                    self.column_list()
                ),
            )
        })
    }

    /// The first of `candidates` present in the header, else an error saying to set `option`.
    pub fn detect(&self, candidates: &[&str], what: &str, option: &str) -> Result<usize> {
        for c in candidates {
            if let Some(col) = self.find_unique(c)? {
                return Ok(col);
            }
        }
        Err(Error::at_line(
            self.source,
            1,
            format!(
                "cannot tell which column holds the {what}: none of {} is in the header; \
                         the header's columns are: {}; set `{option}` to one of them",
                candidates
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                self.column_list()
            ),
        ))
    }

    /// Reads the next data row into `rec`; returns its 1-based line number, or `None` at the
    /// end. A row whose field count differs from the header's is an error naming the line.
    pub fn next(&mut self, rec: &mut ByteRecord) -> Result<Option<u64>> {
        match self.reader.read_byte_record(rec) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let line = match rec.position() {
                    Some(p) => self.line_at(p.byte()),
                    None => self.scan_line + 1,
                };
                if rec.len() != self.headers.len() {
                    return Err(Error::at_line(
                        self.source,
                        line,
                        format!(
                            "expected {} fields as in the header ({}), found {}",
                            self.headers.len(),
                            self.column_list(),
                            rec.len()
                        ),
                    ));
                }
                Ok(Some(line))
            }
            Err(e) => Err(csv_error(self.source, &e)),
        }
    }

    /// Field `col` of `rec` with surrounding ASCII whitespace removed (empty if absent).
    pub fn field(rec: &ByteRecord, col: usize) -> &[u8] {
        rec.get(col).unwrap_or_default().trim_ascii()
    }

    /// The error for a file with a header but no data rows.
    pub fn no_data_rows(&self) -> Error {
        Error::at_line(
            self.source,
            1,
            format!(
                "the file has no data rows: only the header ({}) on line 1; expected one row per \
                 time bin or request after it",
                self.column_list()
            ),
        )
    }

    /// An error about the value of column `col` on `line`.
    pub fn field_error(&self, line: u64, col: usize, message: impl std::fmt::Display) -> Error {
        Error::at_line(
            self.source,
            line,
            format!("column `{}`: {message}", self.headers[col]),
        )
    }
}

/// A field's text for messages (lossy UTF-8).
pub(crate) fn field_text(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
}

fn csv_error(source: &str, e: &csv::Error) -> Error {
    let line = e.position().map(|p| p.line()).unwrap_or(1);
    Error::at_line(source, line, format!("cannot read the CSV: {e}"))
}

/// Reads a whole file as UTF-8 text; IO failures and invalid UTF-8 are input errors naming the
/// file (and the line, for bad UTF-8).
pub(crate) fn read_text(path: &std::path::Path) -> Result<(String, String)> {
    let source = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| Error::input(&source, None, format!("cannot read the file: {e}")))?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok((text, source)),
        Err(e) => {
            let upto = e.utf8_error().valid_up_to();
            let line = 1 + e.as_bytes()[..upto].iter().filter(|&&c| c == b'\n').count() as u64;
            Err(Error::at_line(
                source,
                line,
                "the file is not UTF-8 text; expected a UTF-8 (or ASCII) CSV",
            ))
        }
    }
}

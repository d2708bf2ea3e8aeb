//! The candidate space: which values of which fields a search tries.

use serde::{Deserialize, Serialize};

use crate::quantity::{Bytes, MilliCpu};

/// A limit setting: none, a multiple of the request (`2x`), or an absolute quantity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum LimitChoice<T> {
    /// `none`, `2x`, `1.5x` (as text).
    Rule(LimitRule),
    /// An absolute quantity (`1000m`, `1Gi`).
    Absolute(T),
}

impl<'de, T: std::str::FromStr<Err = crate::quantity::QuantityError>> Deserialize<'de>
    for LimitChoice<T>
{
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = crate::quantity::deserialize_text(d)?;
        let t = text.trim();
        if t == "none" || t.ends_with('x') {
            return LimitRule::try_from(text.clone())
                .map(LimitChoice::Rule)
                .map_err(serde::de::Error::custom);
        }
        t.parse::<T>().map(LimitChoice::Absolute).map_err(|e| {
            serde::de::Error::custom(format!(
                "`{text}` is not a limit: expected `none`, a ratio >= 1 such as `2x`, or a quantity ({})",
                e.reason
            ))
        })
    }
}

/// `none` or a multiple of the request.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum LimitRule {
    /// No limit.
    None,
    /// Limit = ratio × request.
    Ratio(f64),
}

impl TryFrom<String> for LimitRule {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let t = s.trim();
        if t == "none" {
            return Ok(LimitRule::None);
        }
        if let Some(r) = t.strip_suffix('x') {
            if let Ok(v) = r.parse::<f64>() {
                if v.is_finite() && v >= 1.0 {
                    return Ok(LimitRule::Ratio(v));
                }
            }
        }
        Err(format!(
            "`{s}` is not a limit: expected `none`, a ratio >= 1 such as `2x`, or a quantity"
        ))
    }
}

impl From<LimitRule> for String {
    fn from(r: LimitRule) -> String {
        match r {
            LimitRule::None => "none".into(),
            LimitRule::Ratio(v) => format!("{v}x"),
        }
    }
}

/// The grid over one workload's settings. Every list must be non-empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    /// CPU requests.
    pub cpu_request: Vec<MilliCpu>,
    /// Memory requests.
    pub memory_request: Vec<Bytes>,
    /// CPU limits.
    pub cpu_limit: Vec<LimitChoice<MilliCpu>>,
    /// Memory limits.
    pub memory_limit: Vec<LimitChoice<Bytes>>,
    /// HPA minReplicas.
    pub min_replicas: Vec<i32>,
    /// HPA maxReplicas.
    pub max_replicas: Vec<i32>,
    /// HPA CPU utilization targets (percent of request).
    pub target_cpu_utilization: Vec<i32>,
    /// Node pools.
    pub node_pool: Vec<String>,
}

/// A client-pool size to try: a count, or `fit` — the largest size whose connection budget at
/// `maxReplicas` fits the server's limit beside the other workloads' budgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PoolSizeText", into = "PoolSizeText")]
pub enum PoolSize {
    /// Sized to the server's limit.
    Fit,
    /// This many connections per process.
    Count(u32),
}

/// The YAML shape of [`PoolSize`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum PoolSizeText {
    Count(u32),
    Text(String),
    /// Anything else (`-1`, `2.5`, a list): read only to say what was expected.
    Other(serde_json::Value),
}

impl TryFrom<PoolSizeText> for PoolSize {
    type Error = String;
    fn try_from(v: PoolSizeText) -> Result<Self, String> {
        match v {
            PoolSizeText::Count(0) => Err("0: a pool needs at least 1 connection".into()),
            PoolSizeText::Count(n) => Ok(PoolSize::Count(n)),
            PoolSizeText::Text(t) if t == "fit" => Ok(PoolSize::Fit),
            PoolSizeText::Text(t) => Err(format!("`{t}`: expected a pool size ≥ 1 or `fit`")),
            PoolSizeText::Other(v) => Err(format!("`{v}`: expected a pool size ≥ 1 or `fit`")),
        }
    }
}

impl From<PoolSize> for PoolSizeText {
    fn from(v: PoolSize) -> Self {
        match v {
            PoolSize::Fit => PoolSizeText::Text("fit".into()),
            PoolSize::Count(n) => PoolSizeText::Count(n),
        }
    }
}

/// How long a checkout may wait for a free connection: `none` (forever, pymongo's default) or a
/// duration (pymongo `waitQueueTimeoutMS`, redis-py `BlockingConnectionPool(timeout=…)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum PoolTimeout {
    /// Wait forever.
    Forever,
    /// Give up after this many milliseconds.
    After(crate::time::Millis),
}

impl TryFrom<String> for PoolTimeout {
    type Error = String;
    fn try_from(t: String) -> Result<Self, String> {
        if t == "none" {
            return Ok(PoolTimeout::Forever);
        }
        match crate::time::parse_duration(&t) {
            Ok(ms) if ms > 0 => Ok(PoolTimeout::After(ms)),
            Ok(_) => Err(format!(
                "`{t}`: expected a duration above 0 (`500ms`, `2s`) or `none`"
            )),
            Err(e) => Err(format!(
                "{e}; expected a duration above 0 (`500ms`, `2s`) or `none`"
            )),
        }
    }
}

impl From<PoolTimeout> for String {
    fn from(v: PoolTimeout) -> Self {
        match v {
            PoolTimeout::Forever => "none".into(),
            PoolTimeout::After(ms) => crate::time::format_duration(ms),
        }
    }
}

/// The client-pool settings a search tries toward one server, each list one axis of the grid
/// (an empty list keeps the baseline's setting). Written as a list of sizes, or as a map:
/// `size` (`maxPoolSize` / redis-py `max_connections`), `min_size` (pymongo `minPoolSize`),
/// `blocking` (redis-py `BlockingConnectionPool` when true, `ConnectionPool` when false) and
/// `timeout`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolAxes {
    /// Pool sizes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub size: Vec<PoolSize>,
    /// pymongo/motor `minPoolSize` values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub min_size: Vec<u32>,
    /// redis-py: wait for a connection (`BlockingConnectionPool`) or raise (`ConnectionPool`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocking: Vec<bool>,
    /// Checkout timeouts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeout: Vec<PoolTimeout>,
}

/// Reads [`PoolAxes`] from a list of sizes or from its map, keeping serde's message (with the
/// field) for a bad entry.
fn pool_axes<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<std::collections::BTreeMap<String, PoolAxes>, D::Error> {
    struct Axes(PoolAxes);
    impl<'de> Deserialize<'de> for Axes {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = PoolAxes;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a list of pool sizes, or a map of `size`, `min_size`, `blocking` and `timeout` lists")
                }
                fn visit_seq<A: serde::de::SeqAccess<'de>>(
                    self,
                    a: A,
                ) -> Result<PoolAxes, A::Error> {
                    let size = Vec::deserialize(serde::de::value::SeqAccessDeserializer::new(a))?;
                    Ok(PoolAxes {
                        size,
                        ..PoolAxes::default()
                    })
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    a: A,
                ) -> Result<PoolAxes, A::Error> {
                    PoolAxes::deserialize(serde::de::value::MapAccessDeserializer::new(a))
                }
            }
            d.deserialize_any(V).map(Axes)
        }
    }
    let m = std::collections::BTreeMap::<String, Axes>::deserialize(d)?;
    Ok(m.into_iter().map(|(k, v)| (k, v.0)).collect())
}

/// A candidate-space file (`models/spaces/*.yaml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Space {
    /// The workload the grid varies; the others keep their baseline settings.
    pub workload: String,
    /// The grid.
    pub grid: Grid,
    /// Pool settings to try per downstream server of the workload's `client_pools`: sizes
    /// (`maxPoolSize` for pymongo/motor, `max_connections` for redis-py), or [`PoolAxes`].
    #[serde(
        default,
        deserialize_with = "pool_axes",
        skip_serializing_if = "std::collections::BTreeMap::is_empty"
    )]
    pub client_pools: std::collections::BTreeMap<String, PoolAxes>,
}

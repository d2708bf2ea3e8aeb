//! The `costsim` command line: parses arguments, calls the library, maps errors to exit codes
//! (0 ok, 2 bad input, 1 internal error).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod cli_metrics;

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use costsim::error::{Error, Result};
use costsim::model::build::load_scenario;
use costsim::model::config::Config;
use costsim::model::load::{from_yaml_str, Files, DEFAULT_SCENARIO};
use costsim::model::scenario::Scenario;
use costsim::model::validate::check_config;
use costsim::output::{self, plural};
use costsim::search::confirm::{Confirm, Summary};
use costsim::search::halving::Plan;
use costsim::search::shard::{self as shards, Shard, ShardFile};
use costsim::search::{self, rank, space, Evaluated};
use costsim::sim::engine::{LoadModel, Options};
use costsim::sim::requests::RequestOptions;

#[derive(Parser, Debug)]
#[command(
    name = "costsim",
    version,
    about = "Replays recorded traffic against candidate Kubernetes configs on modeled ACK node pools and ranks them by cost, efficiency and SLA"
)]
struct Cli {
    /// Scenario file (default: models/scenarios/default.yaml in the current directory, else
    /// the copy embedded in the binary).
    #[arg(long, global = true)]
    scenario: Option<PathBuf>,
    /// Output format on stdout (not diff, report, emit).
    #[arg(long, value_enum, default_value_t = Format::Table, global = true)]
    format: Format,
    /// Seed for every random draw (Monte Carlo arrivals, start-up and provisioning delays)
    /// (simulate, search, merge, recommend).
    #[arg(long, default_value_t = 1, global = true)]
    seed: u64,
    /// No progress on stderr.
    #[arg(long, global = true)]
    quiet: bool,
    /// Directory for result files: search and merge write ranking.json, ranking.csv and the
    /// timelines; simulate its JSON and timeline; emit the manifests (default `k8s`); report
    /// the document and plots (default `docs/deployment`); shards their shard file (not
    /// validate, diff).
    #[arg(long, global = true)]
    out: Option<PathBuf>,
    /// Load model: `fluid` (queueing formulas per step, fast) or `requests` (every request an
    /// event: exact, slower) (simulate, search, merge).
    #[arg(long, value_enum, default_value_t = LoadModelArg::Fluid, global = true)]
    load_model: LoadModelArg,
    /// Kubernetes manifests (a kustomize directory, a directory of YAML files or a file) whose
    /// Deployments and HPAs replace the scenario's baseline (not report, calibrate).
    #[arg(long, global = true)]
    manifests: Option<PathBuf>,
    /// The subcommand's name and which flags the command line set explicitly (a flag a
    /// command does not use is bad input; merge takes the seed and load model from the
    /// shards and rejects different ones).
    #[arg(skip)]
    given: Given,
    #[command(subcommand)]
    command: Command,
}

/// Most replications a flag accepts ([`search::risk::MAX_REPLICATIONS`]).
const MAX_REPLICATIONS: i64 = search::risk::MAX_REPLICATIONS as i64;

#[derive(Subcommand, Debug)]
enum Command {
    /// Simulate one configuration (the scenario's baseline unless --config).
    Simulate {
        /// Configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Monte Carlo replications (default: the recorded replay once, no variation; at most
        /// 100,000).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=MAX_REPLICATIONS))]
        replications: Option<u32>,
        #[command(flatten)]
        variation: VariationArgs,
        /// Risk budget: feasible when the breach probability's 95 % upper bound is at most
        /// this.
        #[arg(long, default_value_t = search::risk::DEFAULT_MAX_BREACH_PROBABILITY, value_parser = risk_budget, allow_negative_numbers = true)]
        max_breach_probability: f64,
    },
    /// Expand the candidate space, simulate every candidate on Monte Carlo replications
    /// (successive halving), rank them beside the baseline.
    Search {
        /// Candidate rows of the table (0: none; the baseline row and the `rank 1 vs baseline` line stay).
        #[arg(long, default_value_t = 10)]
        top: usize,
        #[command(flatten)]
        mc: MonteCarloArgs,
        /// Candidates from the space file: `grid` (every point), `lhs:N` (Latin hypercube)
        /// or `random:N`, seeded by --seed.
        #[arg(long, default_value = "grid")]
        sample: space::Sampling,
        /// Successive halving: keep 1/ETA of the candidates per stage while replications
        /// double (1: every candidate runs every replication; candidates whose breach
        /// probability's lower bound exceeds the budget are dropped either way).
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
        halving: u32,
        /// Replications of the first halving stage.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        first_stage: u32,
        /// Evaluate only shard I of N (candidates whose index is I modulo N), every
        /// replication, and write a shard file for `costsim merge`.
        #[arg(long, allow_hyphen_values = true)]
        shard: Option<search::shard::Shard>,
        #[command(flatten)]
        confirm: ConfirmArgs,
    },
    /// Combine the shard files of `search --shard I/N` (all N of them) into the ranking a
    /// single search gives.
    Merge {
        /// Shard files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Candidate rows of the table (0: none; the baseline row and the `rank 1 vs baseline` line stay).
        #[arg(long, default_value_t = 10)]
        top: usize,
    },
    /// Load and check the scenario, its model files and traces; print the normalized values.
    Validate,
    /// Right-size requests from recorded metrics (krr simple and the VPA recommender); current
    /// requests come from the scenario's baseline.
    Recommend {
        #[command(flatten)]
        metrics: MetricsArgs,
        /// Which recommender.
        #[arg(long, value_enum, default_value_t = RecommenderArg::Both)]
        recommender: RecommenderArg,
        /// Also simulate the baseline with each recommendation applied (the scenario's traffic
        /// and HPA): replicas, cost and SLA beside the baseline.
        #[arg(long)]
        simulate: bool,
        /// With --simulate, also run the scenario's search and show its best configuration.
        #[arg(long, requires = "simulate")]
        with_search: bool,
    },
    /// Fit a service profile (CPU per request, idle CPU, memory) from metrics with request
    /// rates (the Nezha CSVs); `--out FILE` writes the profile YAML.
    Calibrate {
        #[command(flatten)]
        metrics: MetricsArgs,
        /// The service (workload) to fit, as the pod names give it (`frontend`).
        #[arg(long)]
        service: String,
        /// Name of the profile's request class (as the scenario's SLA names it).
        #[arg(long, default_value = "default")]
        class: String,
    },
    /// Write the cost-optimization document (markdown, SVG and PNG plots) from a search's
    /// `--out` directory into `--out` (default docs/deployment).
    Report {
        /// The directory `search --out` wrote (ranking.json, timelines).
        #[arg(long)]
        from: PathBuf,
    },
    /// Write a kustomize base (the baseline) and overlay (a ranked candidate) into `--out`
    /// (default k8s).
    Emit {
        /// The directory `search --out` wrote.
        #[arg(long)]
        from: PathBuf,
        /// Which candidate (1 = the best).
        #[arg(long, default_value_t = 1)]
        rank: usize,
        /// The overlay's environment name (`overlays/<NAME>`; a DNS label, like a namespace).
        #[arg(long, default_value = "prod", value_parser = overlay_name)]
        overlay: String,
        /// Namespace set in the overlay's kustomization (a DNS label, as Kubernetes requires).
        #[arg(long, value_parser = namespace_name)]
        namespace: Option<String>,
    },
    /// Dry run: what a ranked candidate changes against the baseline (or `--manifests`) and
    /// what it saves.
    Diff {
        /// The directory `search --out` wrote.
        #[arg(long)]
        from: PathBuf,
        /// Which candidate (1 = the best).
        #[arg(long, default_value_t = 1)]
        rank: usize,
    },
}

/// Monte Carlo settings of a search.
#[derive(clap::Args, Debug)]
struct MonteCarloArgs {
    /// Replications of a candidate that survives every halving stage (replication r draws
    /// from random stream r for every candidate; at most 100,000).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=MAX_REPLICATIONS))]
    replications: u32,
    #[command(flatten)]
    variation: VariationArgs,
    /// Risk budget: feasible when the breach probability's 95 % upper bound is at most this.
    #[arg(long, default_value_t = search::risk::DEFAULT_MAX_BREACH_PROBABILITY, value_parser = risk_budget, allow_negative_numbers = true)]
    max_breach_probability: f64,
}

/// The confirmation stage of a search.
#[derive(clap::Args, Debug)]
struct ConfirmArgs {
    /// After halving, walk the ranking from rank 1 and give undecided candidates more
    /// replications (their streams continued) until this many are proven feasible (0: no
    /// confirmation stage).
    #[arg(long, default_value_t = 3)]
    confirm: u32,
    /// Replications a candidate may reach in the confirmation stage (default: enough to prove
    /// the risk budget with one breach, 110 at 5 %; at most 100,000).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=MAX_REPLICATIONS))]
    confirm_replications: Option<u32>,
    /// Candidates the confirmation stage tries at most (default: twice --confirm; at least 1:
    /// `--confirm 0` turns the stage off).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    confirm_tries: Option<u32>,
}

impl ConfirmArgs {
    fn confirm(&self, max_breach_probability: f64) -> Confirm {
        let d = Confirm::new(self.confirm, max_breach_probability);
        Confirm {
            max_replications: self.confirm_replications.unwrap_or(d.max_replications),
            max_tries: self.confirm_tries.unwrap_or(d.max_tries),
            ..d
        }
    }
}

/// How replications vary the recorded traffic (Poisson counts per bin always).
#[derive(clap::Args, Debug)]
struct VariationArgs {
    /// Each simulated day replays a recorded day drawn with replacement.
    #[arg(long)]
    bootstrap_days: bool,
    /// Traffic growth, percent per month (730 h), compounded from the trace start.
    #[arg(long, default_value_t = 0.0, value_parser = growth, allow_negative_numbers = true)]
    growth: f64,
}

impl VariationArgs {
    fn variation(&self) -> costsim::sim::arrivals::Variation {
        costsim::sim::arrivals::Variation {
            poisson: true,
            bootstrap_days: self.bootstrap_days,
            growth_pct_per_month: self.growth,
        }
    }
}

/// A namespace name: an RFC 1123 label (lower-case letters, digits and `-`, starting and
/// ending with a letter or digit, at most 63 characters), as the API server validates it.
fn namespace_name(s: &str) -> std::result::Result<String, String> {
    dns_label(s, "a namespace name")
}

/// An overlay name: it becomes the directory `overlays/<NAME>` and the name kustomize and
/// `kubectl` users type, so the same RFC 1123 label rule as a namespace (no spaces, newlines,
/// slashes or names too long for a file system).
fn overlay_name(s: &str) -> std::result::Result<String, String> {
    dns_label(s, "an overlay name")
}

/// `s` when it is an RFC 1123 label (lower-case letters, digits and `-`, starting and ending
/// with a letter or digit, at most 63 characters); else why not, calling it `what`.
fn dns_label(s: &str, what: &str) -> std::result::Result<String, String> {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let inner = s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if s.len() <= 63 && inner && edge(s.chars().next()) && edge(s.chars().last()) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "`{}` is not {what}: lower-case letters, digits and `-`, starting and \
             ending with a letter or digit, at most 63 characters",
            s.escape_debug()
                .to_string()
                .chars()
                .take(80)
                .collect::<String>()
        ))
    }
}

/// A risk budget ([`search::risk::budget_problem`] says what a bad one lacks).
fn risk_budget(s: &str) -> std::result::Result<f64, String> {
    let p = s
        .parse::<f64>()
        .map_err(|_| format!("`{s}` is not a probability in (0, 1]"))?;
    match search::risk::budget_problem(p) {
        None => Ok(p),
        Some(problem) => Err(format!("`{s}`: {problem}")),
    }
}

fn growth(s: &str) -> std::result::Result<f64, String> {
    match s.trim_end_matches('%').parse::<f64>() {
        Ok(g) if costsim::sim::arrivals::Variation::growth_in_range(g) => Ok(g),
        _ => Err(format!(
            "`{s}` is not a growth in percent per month (-100 < PCT ≤ 1000)"
        )),
    }
}

/// Metrics files and how to read them.
#[derive(clap::Args, Debug)]
struct MetricsArgs {
    /// Metrics file: `kubectl top pods` text, Prometheus JSON (`cpu=FILE` / `memory=FILE` when
    /// its series have no `__name__`), a Nezha or Borg CSV. Repeat for several files.
    #[arg(long = "metrics", required = true)]
    files: Vec<std::ffi::OsString>,
    /// Unit of the Nezha `CpuUsage(m)` column (see data/README.md).
    #[arg(long, value_enum, default_value_t = NezhaUnitArg::Centicores)]
    nezha_cpu_unit: NezhaUnitArg,
    /// Cores per Borg normalized CPU unit (required for Borg files).
    #[arg(long)]
    borg_cores_per_unit: Option<f64>,
    /// Bytes per Borg normalized memory unit (required for Borg files).
    #[arg(long)]
    borg_bytes_per_unit: Option<f64>,
}

impl MetricsArgs {
    fn load(&self) -> Result<Vec<costsim::ingest::metrics::MetricsSet>> {
        use costsim::ingest::metrics::{MetricsOptions, NezhaCpuUnit};
        let opts = MetricsOptions {
            prometheus_resource: None,
            nezha_cpu_unit: match self.nezha_cpu_unit {
                NezhaUnitArg::Centicores => NezhaCpuUnit::Centicores,
                NezhaUnitArg::Millicores => NezhaCpuUnit::Millicores,
            },
            borg_cores_per_unit: self.borg_cores_per_unit,
            borg_bytes_per_unit: self.borg_bytes_per_unit,
        };
        let sets = cli_metrics::load_all(&self.files, &opts)?;
        for w in sets.iter().flat_map(|s| &s.warnings) {
            // A warning about the input, not progress: shown under --quiet too.
            eprintln!("costsim: warning: {w}");
        }
        Ok(sets)
    }
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum RecommenderArg {
    Krr,
    Vpa,
    Both,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum NezhaUnitArg {
    /// Hundredths of a core (what the values behave like).
    Centicores,
    /// Millicores (what the header says).
    Millicores,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum LoadModelArg {
    Fluid,
    Requests,
}

impl Cli {
    fn options(&self) -> Options {
        Options {
            load_model: match self.load_model {
                LoadModelArg::Fluid => LoadModel::Fluid,
                LoadModelArg::Requests => LoadModel::Requests(RequestOptions::default()),
            },
            ..Options::default()
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Format {
    Table,
    Json,
    /// CSV (`recommend` only).
    Csv,
}

/// Global flags the command line set explicitly (not left at their defaults).
#[derive(Debug, Clone, Default)]
struct Given {
    /// The subcommand's name.
    command: String,
    seed: bool,
    load_model: bool,
    format: bool,
    first_stage: bool,
}

/// A global flag given to a command that does not use it is bad input, not silently
/// ignored.
fn reject_unused_flags(cli: &Cli) -> Result<()> {
    use Command as C;
    let c = &cli.command;
    let simulates = matches!(c, C::Simulate { .. } | C::Search { .. } | C::Merge { .. });
    let unused = [
        (
            "--seed",
            cli.given.seed && !simulates && !matches!(c, C::Recommend { .. }),
        ),
        ("--load-model", cli.given.load_model && !simulates),
        (
            "--out",
            cli.out.is_some() && matches!(c, C::Validate | C::Diff { .. }),
        ),
        (
            "--format",
            cli.given.format && matches!(c, C::Diff { .. } | C::Report { .. } | C::Emit { .. }),
        ),
        // The report reads the search's baseline from ranking.json; calibrate reads metrics.
        (
            "--manifests",
            cli.manifests.is_some() && matches!(c, C::Report { .. } | C::Calibrate { .. }),
        ),
    ];
    if cli.manifests.is_some()
        && matches!(
            c,
            C::Simulate {
                config: Some(_),
                ..
            }
        )
    {
        return Err(flag_error(
            "--manifests",
            "gives the configuration to simulate, and so does --config: give one of them \
             (`simulate --manifests DIR` simulates what the manifests deploy)",
        ));
    }
    if matches!(c, C::Search { shard: Some(_), .. })
        && cli.given.format
        && cli.format != Format::Json
    {
        return Err(flag_error(
            "--format",
            "a shard is the JSON file `merge` reads, printed as JSON; leave --format out (merge \
             prints the table)",
        ));
    }
    match unused.into_iter().find(|(_, unused)| *unused) {
        Some((flag, _)) => Err(flag_error(
            flag,
            format!("`{}` does not use {flag}; leave it out", cli.given.command),
        )),
        None => Ok(()),
    }
}

/// Bad input on the command line, naming `flag`.
fn flag_error(flag: &str, message: impl Into<String>) -> Error {
    Error::input("<command line>", Some(flag.into()), message)
}

/// Whether `id` was set on the command line, before or after the subcommand.
fn given_on_command_line(m: &clap::ArgMatches, id: &str) -> bool {
    // `value_source` panics on an id the command does not define: ask only where it is.
    (m.ids().any(|i| i.as_str() == id)
        && m.value_source(id) == Some(clap::parser::ValueSource::CommandLine))
        || m.subcommand()
            .is_some_and(|(_, sub)| given_on_command_line(sub, id))
}

fn main() -> ExitCode {
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let mut cli =
        <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    cli.given = Given {
        command: matches.subcommand_name().unwrap_or_default().to_string(),
        seed: given_on_command_line(&matches, "seed"),
        load_model: given_on_command_line(&matches, "load_model"),
        format: given_on_command_line(&matches, "format"),
        first_stage: given_on_command_line(&matches, "first_stage"),
    };
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("costsim: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// Writes `text` to stdout. A closed pipe (the reader left, as `| head` does) ends the output
/// quietly, as other Unix tools do; any other failure (a full disk) is an error (exit 1), not a
/// panic.
fn emit(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.map_err(|e| Error::internal(format!("cannot write to stdout: {e}"))),
    }
}

fn open_scenario(cli: &Cli) -> Result<Scenario> {
    match &cli.scenario {
        Some(p) => {
            std::fs::metadata(p).map_err(|e| Error::unreachable_path(p, "scenario file", &e))?;
            load_scenario(Files::Disk, p)
        }
        None if Path::new(DEFAULT_SCENARIO).exists() => {
            load_scenario(Files::Disk, Path::new(DEFAULT_SCENARIO))
        }
        None => load_scenario(Files::Embedded, Path::new(DEFAULT_SCENARIO)),
    }
}

/// A progress bar on stderr over `len` steps saying `what`, hidden under --quiet or when
/// stderr is not a terminal. A bar of length 0 stays hidden until [`restart`] gives it one (it
/// would show as a full 0/0 bar).
fn progress(cli: &Cli, len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::hidden();
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta} left)") {
        bar.set_style(style.progress_chars("=> "));
    }
    if len > 0 {
        restart(cli, &bar, len, what.to_string());
    }
    bar
}

/// Starts `bar` over (position, elapsed time and estimate from zero) at `len` steps saying
/// `what`, and shows it unless --quiet or stderr is not a terminal.
fn restart(cli: &Cli, bar: &ProgressBar, len: u64, what: String) {
    bar.reset();
    bar.set_length(len);
    bar.set_message(what);
    if !cli.quiet && std::io::stderr().is_terminal() && bar.is_hidden() {
        bar.set_draw_target(ProgressDrawTarget::stderr());
    }
}

fn run(cli: &Cli) -> Result<()> {
    reject_unused_flags(cli)?;
    if let Some(out) = &cli.out {
        // Before any work: a search may simulate for hours before it writes. Calibrate's
        // --out names a file, the others' a directory.
        match &cli.command {
            Command::Calibrate { .. } => {
                output::check_out_dir(out.parent().unwrap_or(Path::new("")))?
            }
            _ => output::check_out_dir(out)?,
        }
    }
    let render = match cli.format {
        Format::Table => cli_metrics::Render::Table,
        Format::Json => cli_metrics::Render::Json,
        Format::Csv => cli_metrics::Render::Csv,
    };
    if cli.format == Format::Csv && !matches!(cli.command, Command::Recommend { .. }) {
        return Err(flag_error(
            "--format",
            "`csv` is only available for `recommend`; use table or json",
        ));
    }
    if let Command::Calibrate {
        metrics,
        service,
        class,
    } = &cli.command
    {
        let sets = metrics.load()?;
        return emit(&cli_metrics::run_calibrate(
            &sets,
            service,
            class,
            render,
            cli.out.as_deref(),
        )?);
    }
    let mut scenario = open_scenario(cli)?;
    if let Some(m) = &cli.manifests {
        for n in costsim::manifests::use_as_baseline(&mut scenario, m)? {
            eprintln!("costsim: note: {n}");
        }
    }
    match &cli.command {
        Command::Validate => validate(cli, &scenario),
        Command::Simulate {
            config,
            replications,
            variation,
            max_breach_probability,
        } => {
            let varied = [
                ("--bootstrap-days", variation.bootstrap_days),
                ("--growth", variation.growth != 0.0),
            ];
            if let (None, Some((flag, _))) = (replications, varied.iter().find(|(_, v)| *v)) {
                return Err(flag_error(
                    flag,
                    "varies Monte Carlo replications, and the recorded replay has none: \
                     give --replications N",
                ));
            }
            simulate(
                cli,
                &scenario,
                config.as_deref(),
                replications.map(|r| (r, variation.variation(), *max_breach_probability)),
            )
        }
        Command::Search {
            top,
            mc,
            sample,
            halving,
            first_stage,
            shard,
            confirm,
        } => {
            let off = [
                (
                    "--confirm-replications",
                    confirm.confirm == 0 && confirm.confirm_replications.is_some(),
                    "sets the confirmation stage, which --confirm 0 turns off",
                ),
                (
                    "--confirm-tries",
                    confirm.confirm == 0 && confirm.confirm_tries.is_some(),
                    "sets the confirmation stage, which --confirm 0 turns off",
                ),
                (
                    "--first-stage",
                    *halving == 1 && cli.given.first_stage,
                    "sets halving's first stage, and --halving 1 has none: every candidate \
                     runs every replication",
                ),
            ];
            if let Some((flag, _, why)) = off.into_iter().find(|(_, unused, _)| *unused) {
                return Err(flag_error(flag, why));
            }
            if *first_stage > mc.replications {
                return Err(flag_error(
                    "--first-stage",
                    format!(
                        "{first_stage} is more than --replications {}: the first halving stage \
                         runs at most every replication",
                        mc.replications
                    ),
                ));
            }
            let plan = Plan {
                replications: mc.replications,
                first_stage: *first_stage,
                eta: *halving,
                max_breach_probability: mc.max_breach_probability,
            };
            let opts = Options {
                variation: mc.variation.variation(),
                ..cli.options()
            };
            let confirm = confirm.confirm(mc.max_breach_probability);
            run_search(
                cli, &scenario, &opts, &plan, &confirm, *sample, *shard, *top,
            )
        }
        Command::Merge { files, top } => merge(cli, &scenario, files, *top),
        Command::Recommend {
            metrics,
            recommender,
            simulate,
            with_search,
        } => {
            let sets = metrics.load()?;
            let which = match recommender {
                RecommenderArg::Krr => costsim::recommend::Recommender::Krr,
                RecommenderArg::Vpa => costsim::recommend::Recommender::Vpa,
                RecommenderArg::Both => costsim::recommend::Recommender::Both,
            };
            emit(&cli_metrics::run_recommend(
                &sets,
                &scenario,
                which,
                render,
                cli.out.as_deref(),
                simulate.then_some(cli_metrics::SimulateOptions {
                    seed: cli.seed,
                    with_search: *with_search,
                }),
            )?)
        }
        Command::Calibrate { .. } => Ok(()),
        Command::Report { from } => emit(&costsim::report::write_report(
            &scenario,
            from,
            cli.out.as_deref().unwrap_or(Path::new("docs/deployment")),
        )?),
        Command::Emit {
            from,
            rank,
            overlay,
            namespace,
        } => {
            let done = costsim::report::write_manifests(
                &scenario,
                from,
                *rank,
                overlay,
                namespace.as_deref(),
                cli.manifests.as_deref(),
                cli.out.as_deref().unwrap_or(Path::new("k8s")),
            )?;
            for w in &done.warnings {
                // A warning about the result, not progress: shown under --quiet too.
                eprintln!("costsim: warning: {w}");
            }
            emit(&done.summary)
        }
        Command::Diff { from, rank } => emit(&costsim::report::diff(
            &scenario,
            from,
            *rank,
            cli.manifests.is_some(),
        )?),
    }
}

/// With `--manifests`: the space was checked against the scenario's baseline at load, and the
/// manifests replaced it; checks it against theirs, as `search` needs it.
fn check_space_for_manifests(cli: &Cli, sc: &Scenario) -> Result<()> {
    let Some(m) = &cli.manifests else {
        return Ok(());
    };
    costsim::model::validate::check_space(
        sc,
        &format!(
            "{} (with the baseline from --manifests {})",
            sc.space_file,
            m.display()
        ),
    )
}

/// `search`'s refusal of a space with no candidate to run.
fn no_candidates(sc: &Scenario) -> Error {
    Error::input(
        &sc.space_file,
        None,
        "the space expands to no valid candidate",
    )
}

fn validate(cli: &Cli, sc: &Scenario) -> Result<()> {
    // Counted point by point, without expanding the grid; None for a grid too large to
    // search whole (sampled, it runs).
    let candidates = search::count_grid_candidates(sc);
    // What `search` would refuse, in its words. The scenario is still valid for the other
    // commands (`simulate --manifests` does not use the space), so this is a warning.
    let refusal = check_space_for_manifests(cli, sc)
        .err()
        .or_else(|| (candidates == Some(0)).then(|| no_candidates(sc)))
        .map(|e| format!("search refuses this space: {e}"));
    let mut notes = sc.notes.clone();
    if let Some(r) = &refusal {
        eprintln!("costsim: warning: {r}");
        notes.push(r.clone());
    }
    let v = serde_json::json!({
        "scenario": sc.name,
        "file": sc.file,
        "horizon_s": sc.horizon / 1000,
        "trace_start_unix_s": sc.trace_start_unix_s,
        "services": sc.services.iter().map(|s| serde_json::json!({
            "name": s.name,
            "profile": s.profile,
            "scale": s.scale,
            "downstream_only": s.downstream_only,
            "min_replicas": s.min_replicas,
            "trace": s.rate.as_ref().map(|r| serde_json::json!({
                "source": r.source, "bins": r.counts.len(), "bin_s": r.bin_s,
                "total_requests": r.total() * s.scale, "peak_hour_rps": r.peak(3600 / r.bin_s.max(1) as usize) * s.scale,
            })),
            "classes": s.profile.classes.iter().zip(&s.classes).map(|(c, i)| serde_json::json!({
                "name": c.name, "arrival_scv": i.arrival_scv,
                "external_wait_mean_s": if i.external_s.is_empty() { 0.0 } else { i.external_s.iter().sum::<f64>() / i.external_s.len() as f64 },
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "node_pools": sc.catalog.pools.iter().map(|p| serde_json::json!({
            "name": p.name, "instance_type": p.instance_type, "price_per_hour": p.price_per_hour,
            "per_node_fee_per_hour": p.per_node_fee_per_hour,
            "currency": sc.catalog.currency, "allocatable": {
                "cpu_milli": p.allocatable().cpu_milli, "memory_bytes": p.allocatable().memory_bytes, "pods": p.allocatable().pods },
            "for_workload_pods": p.capacity_for_pods(),
        })).collect::<Vec<_>>(),
        "management_fee": sc.management_fee,
        "cluster_fee": sc.management_fee.then_some(&sc.catalog.cluster_fee),
        "placement": sc.placement,
        "limit_range": sc.limit_range,
        "servers": sc.servers,
        "rollouts": sc.rollouts.iter().map(|&(w, at)| serde_json::json!({
            "workload": sc.services.get(w).map(|s| s.name.as_str()), "at_s": at / 1000,
        })).collect::<Vec<_>>(),
        "sla": sc.sla,
        "control_plane": sc.control_plane,
        "baseline": sc.baseline,
        // What the baseline's pods get at admission (the LimitRange's defaults filled in).
        "baseline_admitted": sc.limit_range.is_some().then(|| sc.admitted(&sc.baseline).into_owned()),
        "space": { "workload": sc.space.workload, "grid_points": space::grid_size(&sc.space), "candidates": candidates, "search_refuses": refusal },
        "notes": notes,
    });
    match cli.format {
        Format::Json => emit(&output::to_json_string(&v)),
        Format::Table | Format::Csv => {
            let yaml = serde_yaml_ng::to_string(&v).map_err(|e| Error::internal(e.to_string()))?;
            // A YAML comment, so the output still parses.
            let space = match v["space"]["candidates"].as_u64() {
                Some(n) => plural(n, "candidate") + " in the space",
                None => format!(
                    "{} grid points in the space, more than a search runs whole (sample them \
                     with --sample random:N or lhs:N)",
                    v["space"]["grid_points"]
                ),
            };
            let verdict = format!(
                "# scenario `{}` is valid: {}, {}, {space}{}, {} (under `notes`); the normalized values follow\n",
                sc.name,
                plural(sc.services.len() as u64, "service"),
                plural(sc.catalog.pools.len() as u64, "node pool"),
                if refusal.is_some() {
                    ", which search refuses (see the notes)"
                } else {
                    ""
                },
                plural(notes.len() as u64, "note"),
            );
            emit(&(verdict + &yaml))
        }
    }
}

fn simulate(
    cli: &Cli,
    sc: &Scenario,
    config: Option<&Path>,
    monte_carlo: Option<(u32, costsim::sim::arrivals::Variation, f64)>,
) -> Result<()> {
    let config_given = config.is_some();
    let config: Config = match config {
        None => sc.baseline.clone(),
        Some(p) => {
            let label = Files::Disk.label(p);
            let text = Files::Disk.read(p)?;
            let c: Config = from_yaml_str(&text, &label)?;
            check_config(sc, &c, &label)?;
            for w in costsim::model::validate::config_notes(
                &c,
                Some(&text),
                sc.limit_range.as_ref(),
                sc.horizon,
            ) {
                eprintln!("costsim: warning: {label}: {w}");
            }
            c
        }
    };
    let mut options = cli.options();
    // With the baseline on the same replications, when a config of the user's is compared
    // with it.
    let (e, baseline) = match monte_carlo {
        None => {
            let bar = progress(cli, 1, "simulating");
            let (_, evaluation) = search::run_one_with(sc, &config, cli.seed, &options);
            bar.finish_and_clear();
            (Evaluated::replay(config, evaluation), None)
        }
        Some((replications, variation, budget)) => {
            options.variation = variation;
            let plan = Plan {
                replications,
                first_stage: replications,
                eta: 1,
                max_breach_probability: budget,
            };
            // A config of the user's is compared with the baseline on the same replications
            // (common random numbers): the what-if's saving, paired.
            let mut configs = vec![config.clone()];
            if config_given && replications >= 2 && config.workloads != sc.baseline.workloads {
                configs.push(sc.baseline.clone());
            }
            let bar = progress(
                cli,
                u64::from(replications) * configs.len() as u64,
                "replications",
            );
            let tick = || bar.inc(1);
            let mut all = search::monte_carlo(
                sc,
                configs,
                cli.seed,
                &options,
                &plan,
                &mut |_, _, _, _| {},
                &tick,
            );
            bar.finish_and_clear();
            let mine = all
                .iter()
                .position(|e| e.config == config)
                .ok_or_else(|| Error::internal("simulation result missing"))?;
            let e = all.swap_remove(mine);
            (e, all.pop())
        }
    };
    let v = output::simulation_json(&e, baseline.as_ref());
    if let Some(dir) = &cli.out {
        let mut batch = output::Batch::default();
        batch.add(
            &dir.join("simulation.json"),
            output::to_json_string(&v).as_bytes(),
        )?;
        let (run, _) = search::run_one_with(
            sc,
            &e.config,
            cli.seed,
            &Options {
                replication: 0,
                ..options.clone()
            },
        );
        batch.add(
            &dir.join("timeline.csv"),
            output::timeline_csv(sc, &run).as_bytes(),
        )?;
        batch.commit()?;
    }
    match cli.format {
        Format::Json => emit(&output::to_json_string(&v)),
        Format::Table | Format::Csv => {
            let mut text = output::simulation_table(sc, &e);
            if let Some(line) = baseline
                .as_ref()
                .and_then(|b| output::vs_baseline_line(&e, b, &sc.catalog.currency))
            {
                text.push_str(&line);
                text.push('\n');
            }
            emit(&text)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn run_search(
    cli: &Cli,
    sc: &Scenario,
    options: &Options,
    plan: &Plan,
    confirm: &Confirm,
    sampling: space::Sampling,
    shard: Option<Shard>,
    top: usize,
) -> Result<()> {
    check_space_for_manifests(cli, sc)?;
    if let space::Sampling::LatinHypercube(n) | space::Sampling::Random(n) = sampling {
        // A loaded space indexes (`check_space`).
        let points = space::grid_size(&sc.space).unwrap_or(usize::MAX);
        if n > points {
            return Err(flag_error(
                "--sample",
                format!(
                    "{n} samples of a grid of {points} points: at most {points} (or `grid`, \
                     every point once)"
                ),
            ));
        }
    }
    if sampling == space::Sampling::Grid {
        search::check_grid_search(sc)?;
    }
    let points = space::sample(&sc.space, &sc.baseline, sampling, cli.seed, &|c| {
        search::admits(sc, c)
    });
    if let space::Sampling::LatinHypercube(n) | space::Sampling::Random(n) = sampling {
        if points.len() < n {
            // A note about the result, not progress: shown under --quiet too.
            eprintln!(
                "costsim: {sampling} gave {}: {}",
                plural(points.len() as u64, "distinct grid point"),
                if matches!(sampling, space::Sampling::LatinHypercube(_)) {
                    "a Latin hypercube keeps a repeated point once and skips invalid ones"
                } else {
                    "the grid has no more valid points the scenario admits"
                }
            );
        }
    }
    let (candidates, left_out) = search::space_candidates(sc, points);
    // Warnings about the result, not progress: shown under --quiet too.
    let placement = if sc.limit_range.is_some() {
        "their pool breaks a placement rule, or the namespace LimitRange refuses their pods"
    } else {
        "their pool breaks a placement rule"
    };
    for (n, why) in [
        (
            left_out.pool_min_above_size,
            "their client pool's min_size is above its size (pymongo raises on minPoolSize \
             above maxPoolSize)",
        ),
        (left_out.not_admitted, placement),
        (
            left_out.repeats,
            "the same configuration as an earlier one (the space spells a setting twice, e.g. \
             a CPU limit as a size and as a factor)",
        ),
    ] {
        if n > 0 {
            eprintln!("costsim: {} left out: {why}", plural(n as u64, "candidate"));
        }
    }
    if candidates.is_empty() {
        return Err(no_candidates(sc));
    }
    let full = Plan {
        first_stage: plan.replications,
        eta: 1,
        ..*plan
    };
    let total = candidates.len();
    let bar = progress(cli, 0, "");
    let stages = if shard.is_some() {
        1
    } else {
        plan.stages().len()
    };
    // The bar counts the stage's new replications (candidates already past some of them run
    // only the rest).
    let mut stage_start = |s: usize, n: u32, live: usize, tasks: usize| {
        let what = format!(
            "stage {}/{stages}: {} to {}, {tasks} to run",
            s + 1,
            plural(live as u64, "candidate"),
            plural(n, "replication")
        );
        restart(cli, &bar, tasks as u64, what);
    };
    let mut baseline_start = |_: usize, _: u32, _: usize, tasks: usize| {
        restart(cli, &bar, tasks as u64, "baseline".into());
    };
    let tick = || bar.inc(1);
    let run = |configs: Vec<Config>, p: &Plan, start: &mut dyn FnMut(usize, u32, usize, usize)| {
        search::monte_carlo(sc, configs, cli.seed, options, p, start, &tick)
    };
    if let Some(shard) = shard {
        let candidates_digest = shards::candidates_digest(&candidates);
        let (indices, mine): (Vec<usize>, Vec<Config>) = candidates
            .into_iter()
            .enumerate()
            .filter(|(i, _)| shard.holds(*i))
            .unzip();
        let done = run(mine, &full, &mut stage_start);
        let baseline = run(vec![sc.baseline.clone()], &full, &mut baseline_start)
            .pop()
            .ok_or_else(|| Error::internal("baseline evaluation missing"))?;
        bar.finish_and_clear();
        let file = ShardFile::new(
            shards::Header {
                format: shards::FORMAT.into(),
                scenario: sc.name.clone(),
                scenario_digest: sc.digest(),
                candidates_digest,
                seed: cli.seed,
                load_model: load_model_name(&options.load_model).into(),
                sample: sampling.to_string(),
                plan: *plan,
                variation: options.variation,
                confirm: *confirm,
                candidates_total: total,
                shards: shard.count,
            },
            shard.index,
            indices
                .into_iter()
                .zip(done)
                .map(|(i, e)| shards::shard_candidate(i, e))
                .collect(),
            shards::shard_candidate(0, baseline),
        );
        let text = output::to_json_string(&file);
        let Some(dir) = &cli.out else {
            return emit(&text);
        };
        let path = dir.join(format!("shard-{}-of-{}.json", shard.index, shard.count));
        output::write_atomic(&path, text.as_bytes())?;
        // As without --shard, --out adds files and stdout keeps what the user asked for: the
        // shard JSON only with an explicit --format json (it is the file), else one line.
        if cli.given.format {
            return emit(&text);
        }
        return emit(&format!(
            "wrote {}: shard {}/{}, {} of {}, {} each; merge all {} with `costsim merge`\n",
            path.display(),
            shard.index,
            shard.count,
            file.candidates.len(),
            plural(total as u64, "candidate"),
            plural(plan.replications, "replication"),
            plural(shard.count, "shard")
        ));
    }
    let all = run(candidates, plan, &mut stage_start);
    let baseline = run(vec![sc.baseline.clone()], &full, &mut baseline_start)
        .pop()
        .ok_or_else(|| Error::internal("baseline evaluation missing"))?;
    bar.finish_and_clear();
    finish_search(
        cli, sc, cli.seed, options, plan, confirm, all, baseline, top,
    )
}

fn load_model_name(m: &LoadModel) -> &'static str {
    match m {
        LoadModel::Fluid => "fluid",
        LoadModel::Requests(_) => "requests",
    }
}

/// Runs the confirmation stage on `all` (halving's candidates), ranks them, marks the Pareto
/// front, prints and writes the result: the same for a single search and for a merge of its
/// shards, which skip the stage.
#[allow(clippy::too_many_arguments)]
fn finish_search(
    cli: &Cli,
    sc: &Scenario,
    seed: u64,
    options: &Options,
    plan: &Plan,
    confirm: &Confirm,
    all: Vec<Evaluated>,
    mut baseline: Evaluated,
    top: usize,
) -> Result<()> {
    let (all, summary) = confirm_stage(cli, sc, seed, options, plan, confirm, all);
    if let Some(best) = all.first() {
        // The saving is read against rank 1: the baseline runs its replications too.
        let count = |e: &Evaluated| e.monte_carlo.as_ref().map_or(0, |m| m.records.len());
        let (have, wanted) = (count(&baseline), count(best));
        let what = format!("baseline: replications {have}..{wanted}");
        let bar = progress(cli, wanted.saturating_sub(have) as u64, &what);
        let tick = || bar.inc(1);
        search::pair_replications(sc, &mut baseline, best, seed, options, &tick);
        bar.finish_and_clear();
    }
    baseline.pareto = rank::on_front(&baseline, &all);
    let mut v = output::ranking_json(sc, seed, &all, &baseline);
    if let serde_json::Value::Object(m) = &mut v {
        m.insert("replications".into(), serde_json::json!(plan.replications));
        m.insert(
            "max_breach_probability".into(),
            serde_json::json!(plan.max_breach_probability),
        );
        m.insert("halving".into(), serde_json::json!(plan.eta));
        m.insert("variation".into(), serde_json::json!(options.variation));
        if confirm.enabled() {
            m.insert(
                "confirmation".into(),
                serde_json::json!({
                    "target_feasible": confirm.feasible,
                    "max_replications": confirm.max_replications,
                    "max_tries": confirm.max_tries,
                    "tried": summary.tried,
                    "feasible": summary.feasible,
                    "infeasible": summary.infeasible,
                    "undecided": summary.undecided,
                    "replications": summary.replications,
                }),
            );
        }
    }
    if let Some(dir) = &cli.out {
        let mut batch = output::Batch::default();
        batch.add(
            &dir.join("ranking.json"),
            output::to_json_string(&v).as_bytes(),
        )?;
        batch.add(
            &dir.join("ranking.csv"),
            output::ranking_csv(&all, &baseline).as_bytes(),
        )?;
        let rep0 = Options {
            replication: 0,
            ..options.clone()
        };
        if let Some(best) = all.first() {
            let (run, _) = search::run_one_with(sc, &best.config, seed, &rep0);
            batch.add(
                &dir.join("timeline_rank1.csv"),
                output::timeline_csv(sc, &run).as_bytes(),
            )?;
        }
        let (run, _) = search::run_one_with(sc, &baseline.config, seed, &rep0);
        batch.add(
            &dir.join("timeline_baseline.csv"),
            output::timeline_csv(sc, &run).as_bytes(),
        )?;
        batch.commit()?;
    }
    match cli.format {
        Format::Json => emit(&output::to_json_string(&v)),
        Format::Table | Format::Csv => emit(&output::ranking_table(
            sc,
            &all,
            &baseline,
            top,
            confirm.enabled().then_some((confirm, &summary)),
            &options.variation,
        )),
    }
}

/// The confirmation stage with its progress bar ([`search::confirm`]); ranks `all` either way.
fn confirm_stage(
    cli: &Cli,
    sc: &Scenario,
    seed: u64,
    options: &Options,
    plan: &Plan,
    confirm: &Confirm,
    all: Vec<Evaluated>,
) -> (Vec<Evaluated>, Summary) {
    let clean = search::risk::replications_to_prove(0, plan.max_breach_probability);
    if confirm.enabled() && clean.is_none_or(|n| n > confirm.max_replications) {
        // A warning about the result, not progress: shown under --quiet too.
        eprintln!(
            "costsim: the confirmation cap of {} replications cannot prove a breach probability within {}: {}",
            confirm.max_replications,
            plan.max_breach_probability,
            clean.map_or("no number of replications can".into(), |n| format!(
                "that takes {n} without a breach"
            ))
        );
    }
    // Hidden until a batch starts: none does when the stage is off.
    let bar = progress(cli, 0, "confirm");
    let mut batch_start = |attempt: u32, _name: &str, from: u32, to: u32| {
        let what = format!(
            "confirm {attempt}/{}: replications {from}..{to}",
            confirm.max_tries
        );
        restart(cli, &bar, u64::from(to - from), what);
    };
    let tick = || bar.inc(1);
    let out = search::confirm(sc, all, seed, options, confirm, &mut batch_start, &tick);
    bar.finish_and_clear();
    out
}

/// The error for a shard path that is a pattern no file matched (the shell passes an
/// unmatched glob as it is): names its directory and the shard files there.
fn unmatched_glob(pattern: &Path) -> Error {
    let dir = pattern
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("shard-") && n.ends_with(".json"))
        .collect();
    found.sort();
    let there = if found.is_empty() {
        "no shard files".to_string()
    } else {
        costsim::model::validate::name_list(found.iter().map(String::as_str))
    };
    Error::input(
        pattern.display().to_string(),
        None,
        format!(
            "no shard file matched this pattern; {} holds {there} (`search --shard I/N --out \
             DIR` writes DIR/shard-I-of-N.json)",
            dir.display()
        ),
    )
}

fn merge(cli: &Cli, sc: &Scenario, files: &[PathBuf], top: usize) -> Result<()> {
    let mut parsed = Vec::with_capacity(files.len());
    let digest = sc.digest();
    for p in files {
        let name = p.display().to_string();
        if name.contains('*') && std::fs::symlink_metadata(p).is_err() {
            return Err(unmatched_glob(p));
        }
        let text = std::fs::read_to_string(p)
            .map_err(|e| Error::input(&name, None, format!("cannot read: {e}")))?;
        let f: ShardFile = serde_json::from_str(costsim::ingest::without_bom(&text))
            .map_err(|e| Error::json(&name, None, "not a costsim shard file", &e))?;
        if f.header.format != shards::FORMAT {
            return Err(Error::input(
                &name,
                Some("header.format".into()),
                format!("`{}` is not {}", f.header.format, shards::FORMAT),
            ));
        }
        if let Some((field, problem)) = f.header.invalid_field() {
            return Err(Error::input(
                &name,
                Some(field.into()),
                format!("not a value `search --shard` writes: {problem}"),
            ));
        }
        if f.header.scenario != sc.name {
            return Err(Error::input(
                &name,
                Some("header.scenario".into()),
                format!(
                    "the shard is of scenario `{}`, not `{}` (give it with --scenario)",
                    f.header.scenario, sc.name
                ),
            ));
        }
        if f.header.scenario_digest != digest {
            return Err(Error::input(
                &name,
                Some("header.scenario_digest".into()),
                format!(
                    "the shard ran on another version of scenario `{}` (its model files, \
                     traces, baseline or space differ: digest {} here {digest}); merge with \
                     the files the shards ran on (and the same --manifests, which replace \
                     the baseline), or rerun them",
                    sc.name, f.header.scenario_digest
                ),
            ));
        }
        parsed.push((name, f));
    }
    let header = parsed[0].1.header.clone();
    let load_model = load_model_name(&cli.options().load_model);
    for (flag, given, value, shards_value) in [
        (
            "--seed",
            cli.given.seed,
            cli.seed.to_string(),
            header.seed.to_string(),
        ),
        (
            "--load-model",
            cli.given.load_model,
            load_model.to_string(),
            header.load_model.clone(),
        ),
    ] {
        if given && value != shards_value {
            return Err(flag_error(
                flag,
                format!(
                    "{value} is not what the shards were searched with ({shards_value}); \
                     merge takes it from the shards: leave {flag} out"
                ),
            ));
        }
    }
    let (all, baseline) = shards::merge(parsed)?;
    let options = Options {
        load_model: if header.load_model == "requests" {
            LoadModel::Requests(RequestOptions::default())
        } else {
            LoadModel::Fluid
        },
        variation: header.variation,
        ..Options::default()
    };
    finish_search(
        cli,
        sc,
        header.seed,
        &options,
        &header.plan,
        &header.confirm,
        all,
        baseline,
        top,
    )
}

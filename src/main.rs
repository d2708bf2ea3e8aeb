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
use costsim::output;
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
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table, global = true)]
    format: Format,
    /// Seed for every random draw (start-up and provisioning delays).
    #[arg(long, default_value_t = 1, global = true)]
    seed: u64,
    /// No progress on stderr.
    #[arg(long, global = true)]
    quiet: bool,
    /// Directory for result files (ranking.json, ranking.csv, timelines).
    #[arg(long, global = true)]
    out: Option<PathBuf>,
    /// Load model: `fluid` (queueing formulas per step, fast) or `requests` (every request an
    /// event: exact, slower).
    #[arg(long, value_enum, default_value_t = LoadModelArg::Fluid, global = true)]
    load_model: LoadModelArg,
    /// Kubernetes manifests (a kustomize directory, a directory of YAML files or a file) whose
    /// Deployments and HPAs replace the scenario's baseline (search, simulate, emit, diff).
    #[arg(long, global = true)]
    manifests: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Simulate one configuration (the scenario's baseline unless --config).
    Simulate {
        /// Configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Expand the candidate space, simulate every candidate, rank them beside the baseline.
    Search {
        /// Rows of the table.
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
        /// The overlay's environment name (`overlays/<NAME>`).
        #[arg(long, default_value = "prod")]
        overlay: String,
        /// Namespace set in the overlay's kustomization.
        #[arg(long)]
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

/// Metrics files and how to read them.
#[derive(clap::Args, Debug)]
struct MetricsArgs {
    /// Metrics file: `kubectl top pods` text, Prometheus JSON (`cpu=FILE` / `memory=FILE` when
    /// its series have no `__name__`), a Nezha or Borg CSV. Repeat for several files.
    #[arg(long = "metrics", required = true)]
    files: Vec<String>,
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
        cli_metrics::load_all(&self.files, &opts)
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("costsim: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// Writes `text` to stdout; a closed pipe or a full disk is an error (exit 1), not a panic.
fn emit(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::internal(format!("cannot write to stdout: {e}")))
}

fn open_scenario(cli: &Cli) -> Result<Scenario> {
    match &cli.scenario {
        Some(p) => {
            if !p.exists() {
                return Err(Error::input(
                    p.display().to_string(),
                    None,
                    "no such scenario file",
                ));
            }
            load_scenario(Files::Disk, p)
        }
        None if Path::new(DEFAULT_SCENARIO).exists() => {
            load_scenario(Files::Disk, Path::new(DEFAULT_SCENARIO))
        }
        None => load_scenario(Files::Embedded, Path::new(DEFAULT_SCENARIO)),
    }
}

fn progress(cli: &Cli, len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if cli.quiet || !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    } else {
        bar.set_draw_target(ProgressDrawTarget::stderr());
    }
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta} left)") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

fn run(cli: &Cli) -> Result<()> {
    let render = match cli.format {
        Format::Table => cli_metrics::Render::Table,
        Format::Json => cli_metrics::Render::Json,
        Format::Csv => cli_metrics::Render::Csv,
    };
    if cli.format == Format::Csv && !matches!(cli.command, Command::Recommend { .. }) {
        return Err(Error::input(
            "<command line>",
            Some("--format".into()),
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
        Command::Simulate { config } => simulate(cli, &scenario, config.as_deref()),
        Command::Search { top } => run_search(cli, &scenario, *top),
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
        } => emit(&costsim::report::write_manifests(
            &scenario,
            from,
            *rank,
            overlay,
            namespace.as_deref(),
            cli.manifests.as_deref(),
            cli.out.as_deref().unwrap_or(Path::new("k8s")),
        )?),
        Command::Diff { from, rank } => emit(&costsim::report::diff(
            &scenario,
            from,
            *rank,
            cli.manifests.is_some(),
        )?),
    }
}

fn validate(cli: &Cli, sc: &Scenario) -> Result<()> {
    let v = serde_json::json!({
        "scenario": sc.name,
        "file": sc.file,
        "horizon_s": sc.horizon / 1000,
        "step_ms": sc.step,
        "trace_start_unix_s": sc.trace_start_unix_s,
        "services": sc.services.iter().map(|s| serde_json::json!({
            "name": s.name,
            "profile": s.profile,
            "scale": s.scale,
            "downstream_only": s.downstream_only,
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
            "currency": sc.catalog.currency, "allocatable": {
                "cpu_milli": p.allocatable().cpu_milli, "memory_bytes": p.allocatable().memory_bytes, "pods": p.allocatable().pods },
            "for_workload_pods": p.capacity_for_pods(),
        })).collect::<Vec<_>>(),
        "cluster_fee": sc.catalog.cluster_fee,
        "sla": sc.sla,
        "control_plane": sc.control_plane,
        "baseline": sc.baseline,
        "space": { "workload": sc.space.workload, "grid_points": space::grid_size(&sc.space), "candidates": search::candidates(sc).len() },
        "notes": sc.notes,
    });
    match cli.format {
        Format::Json => emit(&output::to_json_string(&v)),
        Format::Table | Format::Csv => {
            emit(&serde_yaml_ng::to_string(&v).map_err(|e| Error::internal(e.to_string()))?)
        }
    }
}

fn simulate(cli: &Cli, sc: &Scenario, config: Option<&Path>) -> Result<()> {
    let config: Config = match config {
        None => sc.baseline.clone(),
        Some(p) => {
            let label = Files::Disk.label(p);
            let text = Files::Disk.read(p)?;
            let c: Config = from_yaml_str(&text, &label)?;
            check_config(sc, &c, &label)?;
            c
        }
    };
    let bar = progress(cli, 1, "simulating");
    let (run, evaluation) = search::run_one_with(sc, &config, cli.seed, &cli.options());
    bar.finish_and_clear();
    let e = Evaluated { config, evaluation };
    let v = output::candidate_json(0, &e);
    if let Some(dir) = &cli.out {
        output::write_atomic(
            &dir.join("simulation.json"),
            output::to_json_string(&v).as_bytes(),
        )?;
        output::write_atomic(
            &dir.join("timeline.csv"),
            output::timeline_csv(sc, &run).as_bytes(),
        )?;
    }
    match cli.format {
        Format::Json => emit(&output::to_json_string(&v)),
        Format::Table | Format::Csv => emit(&output::simulation_table(sc, &e)),
    }
}

fn run_search(cli: &Cli, sc: &Scenario, top: usize) -> Result<()> {
    let (candidates, skipped) = search::admissible(sc, search::candidates(sc));
    if skipped > 0 {
        // A warning about the result, not progress: shown under --quiet too.
        eprintln!("costsim: {skipped} candidates left out: their pool breaks a placement rule");
    }
    if candidates.is_empty() {
        return Err(Error::input(
            &sc.space_file,
            None,
            "the space expands to no valid candidate",
        ));
    }
    let bar = progress(
        cli,
        candidates.len() as u64 + 1,
        &format!("simulating {} candidates + baseline", candidates.len()),
    );
    let tick = || bar.inc(1);
    let mut all = search::evaluate_all_with(sc, candidates, cli.seed, &cli.options(), &tick);
    let baseline = search::evaluate_all_with(
        sc,
        vec![sc.baseline.clone()],
        cli.seed,
        &cli.options(),
        &tick,
    )
    .pop()
    .ok_or_else(|| Error::internal("baseline evaluation missing"))?;
    bar.finish_and_clear();
    all = rank::rank(all);
    let v = output::ranking_json(sc, cli.seed, &all, &baseline);
    if let Some(dir) = &cli.out {
        output::write_atomic(
            &dir.join("ranking.json"),
            output::to_json_string(&v).as_bytes(),
        )?;
        output::write_atomic(
            &dir.join("ranking.csv"),
            output::ranking_csv(&all, &baseline).as_bytes(),
        )?;
        if let Some(best) = all.first() {
            let (run, _) = search::run_one_with(sc, &best.config, cli.seed, &cli.options());
            output::write_atomic(
                &dir.join("timeline_rank1.csv"),
                output::timeline_csv(sc, &run).as_bytes(),
            )?;
        }
        let (run, _) = search::run_one_with(sc, &baseline.config, cli.seed, &cli.options());
        output::write_atomic(
            &dir.join("timeline_baseline.csv"),
            output::timeline_csv(sc, &run).as_bytes(),
        )?;
    }
    match cli.format {
        Format::Json => emit(&output::to_json_string(&v)),
        Format::Table | Format::Csv => emit(&output::ranking_table(sc, &all, &baseline, top)),
    }
}

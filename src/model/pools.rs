//! Client connection pools as the drivers configure them (pymongo/motor, redis-py), and the
//! connection limits of the servers they talk to.

use serde::{Deserialize, Serialize};

use crate::model::service::duration_serde;
use crate::quantity::Bytes;
use crate::time::Millis;

/// redis-py's `ConnectionPool` default `max_connections` (`2**31`): no practical limit.
pub const REDIS_PY_UNLIMITED: u32 = 1 << 31;
/// The size that stands for a pool without a limit (pymongo's `maxPoolSize=0`, redis-py's
/// default `2**31`).
pub const UNLIMITED_POOL: u32 = REDIS_PY_UNLIMITED;

/// One workload's client pool toward one server, spelled as the driver spells its options:
/// pymongo/motor `maxPoolSize`, `minPoolSize`, `maxIdleTimeMS`, `waitQueueTimeoutMS`,
/// `maxConnecting`; redis-py `pool_class`, `max_connections`, `timeout` (seconds), `version`.
/// Sizes are signed so that a negative one is an error naming its field, not a parse failure.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientPoolConfig {
    /// `pymongo`, `motor` or `redis-py`.
    pub client: String,
    /// pymongo: connections per server per client (per process); default 100 when left out,
    /// 0 or `null` (pymongo's `None`) = no limit. `Some(None)` is an explicit `null`.
    #[serde(
        rename = "maxPoolSize",
        default,
        deserialize_with = "explicit_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_pool_size: Option<Option<i64>>,
    /// pymongo: connections kept open even when idle; default 0.
    #[serde(
        rename = "minPoolSize",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub min_pool_size: Option<i64>,
    /// pymongo: idle connections close after this many ms; default none (kept).
    #[serde(
        rename = "maxIdleTimeMS",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_idle_time_ms: Option<i64>,
    /// pymongo: a checkout waits this long at most; default none (forever).
    #[serde(
        rename = "waitQueueTimeoutMS",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub wait_queue_timeout_ms: Option<i64>,
    /// pymongo: connections being opened at once per pool; default 2.
    #[serde(
        rename = "maxConnecting",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_connecting: Option<i64>,
    /// pymongo ≥ 4.5 `serverMonitoringMode`: `auto` (the default) or `stream` keep two
    /// monitoring sockets per member (the streaming monitor and the RTT monitor), `poll` one.
    #[serde(
        rename = "serverMonitoringMode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub server_monitoring_mode: Option<String>,
    /// redis-py: `ConnectionPool` (raises when full; the default) or `BlockingConnectionPool`
    /// (waits up to `timeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_class: Option<String>,
    /// redis-py: most connections per pool (default 2**31, or 50 for the blocking pool, when
    /// left out; redis-py reads 0 and `None` as 2**31: `max_connections or 2**31`). `Some(None)`
    /// is an explicit `null`.
    #[serde(
        default,
        deserialize_with = "explicit_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_connections: Option<Option<i64>>,
    /// redis-py `BlockingConnectionPool`: longest checkout wait, seconds (default 20 when left
    /// out; `null`, Python's `timeout=None`, waits forever). `Some(None)` is an explicit `null`.
    #[serde(
        default,
        deserialize_with = "explicit_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout: Option<Option<f64>>,
    /// redis-py version, PEP 440 (`8.0.1`, `v8.0.1`, `==8.0.1`, `8.0.0rc1`): releases from
    /// 8.0.0 up to the fix (see [`SENTINEL_LEAK`]) leak a Sentinel pool slot per connection in
    /// flight at a failover, redis/redis-py#4187.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Which API of the driver the code calls: `async` (motor, pymongo `AsyncMongoClient`,
    /// `redis.asyncio`; the default) or `sync` (pymongo `MongoClient`, `redis.Redis`). A sync
    /// call inside an async worker's event loop blocks the whole process for its round trip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
}

/// Reads a present field as `Some`, an explicit `null` included (`Some(None)`); a field left
/// out stays `None` through `#[serde(default)]`. The drivers give `None` its own meaning
/// (redis-py's `timeout=None` waits forever, pymongo's `maxPoolSize=None` has no limit), so an
/// explicit `null` must not fall back to the default.
fn explicit_null<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// What a checkout does when every connection is in use.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exhausted {
    /// Waits in FIFO order, failing after `timeout_s` (`None`: waits forever).
    Block {
        /// Longest wait, seconds.
        timeout_s: Option<f64>,
    },
    /// Fails at once (redis-py `ConnectionPool`: "Too many connections").
    Raise,
}

/// A client pool resolved from its config: the model the simulator runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClientPool {
    /// Most connections per process.
    pub max_size: u32,
    /// Connections every process keeps open (pymongo `minPoolSize`).
    pub min_size: u32,
    /// Idle connections close after this long (`None`: never).
    pub max_idle_s: Option<f64>,
    /// Connections opened at once per pool.
    pub max_connecting: u32,
    /// Behaviour when exhausted.
    pub exhausted: Exhausted,
    /// Monitoring connections per replica-set member per process (pymongo 4.x: the monitor
    /// and the RTT monitor, 2; redis-py none).
    pub monitors_per_member: u32,
    /// Loses a slot per connection in flight at each failover (redis-py 8.0.0–8.0.1).
    pub leaks_on_failover: bool,
    /// The code calls the driver's synchronous API (`api: sync`).
    pub sync_api: bool,
}

impl ClientPool {
    /// Whether a call through this pool blocks the whole worker process for its round trip:
    /// a synchronous driver inside an async worker (the event loop cannot run another request
    /// while the socket read blocks). In a threaded worker only the calling thread waits.
    pub fn blocks_process(&self, worker: crate::model::service::WorkerKind) -> bool {
        self.sync_api && worker == crate::model::service::WorkerKind::Async
    }
}

/// Error from [`ClientPoolConfig::resolve`]: the field (relative to the pool) and the problem.
pub type FieldError = (String, String);

fn non_negative(v: Option<i64>, field: &str) -> Result<Option<u32>, FieldError> {
    at_least(v, field, 0)
}

/// A pymongo timeout in milliseconds (`maxIdleTimeMS`, `waitQueueTimeoutMS`): pymongo's
/// `validate_timeout_or_none` takes only values in (0, 1e9) and raises `ValueError` at
/// `MongoClient(...)` for 0; leaving the option out is how to wait or idle forever.
fn pymongo_timeout_ms(v: Option<i64>, field: &str) -> Result<Option<u32>, FieldError> {
    match v {
        Some(n) if !(1..1_000_000_000).contains(&n) => Err((
            field.into(),
            format!(
                "{n}: expected milliseconds greater than 0 and less than one billion, as pymongo \
                 requires (it raises ValueError otherwise); leave it out for no limit"
            ),
        )),
        _ => at_least(v, field, 1),
    }
}

/// A count of at least `min` (a negative one named as such, the bound given as the real one).
fn at_least(v: Option<i64>, field: &str, min: i64) -> Result<Option<u32>, FieldError> {
    match v {
        None => Ok(None),
        Some(n) if n < min => Err((
            field.into(),
            if n < 0 {
                format!("{n} is negative; expected a count ≥ {min}")
            } else {
                format!("{n}: expected a count ≥ {min}")
            },
        )),
        Some(n) => u32::try_from(n)
            .map(Some)
            .map_err(|_| (field.into(), format!("{n} is too large for a pool size"))),
    }
}

impl ClientPoolConfig {
    /// Checks the settings against the client's own options and defaults, and resolves them.
    pub fn resolve(&self) -> Result<ClientPool, FieldError> {
        let sync_api = match self.api.as_deref() {
            None | Some("async") => false,
            Some("sync") if self.client == "motor" => {
                return Err((
                    "api".into(),
                    "`sync`: motor has only an asyncio API; a synchronous MongoDB client is `client: pymongo, api: sync`".into(),
                ))
            }
            Some("sync") => true,
            Some(other) => {
                return Err(("api".into(), format!("`{other}`: expected sync or async")))
            }
        };
        let foreign = |fields: &[(&str, bool)]| -> Result<(), FieldError> {
            match fields.iter().find(|(_, set)| *set) {
                Some((f, _)) => Err((
                    (*f).into(),
                    format!("is not an option of a `{}` client", self.client),
                )),
                None => Ok(()),
            }
        };
        match self.client.as_str() {
            "pymongo" | "motor" => {
                foreign(&[
                    ("pool_class", self.pool_class.is_some()),
                    ("max_connections", self.max_connections.is_some()),
                    ("timeout", self.timeout.is_some()),
                    ("version", self.version.is_some()),
                ])?;
                // pymongo's pool reads maxPoolSize 0 as no limit (`if not max_pool_size:
                // max_pool_size = inf`).
                // `maxPoolSize=None` likewise ("Can be either 0 or None, in which case there is
                // no limit").
                let max_size = match self.max_pool_size {
                    None => 100,
                    Some(None) => UNLIMITED_POOL,
                    Some(size) => match non_negative(size, "maxPoolSize")? {
                        Some(0) | None => UNLIMITED_POOL,
                        Some(n) => n,
                    },
                };
                let min_size = non_negative(self.min_pool_size, "minPoolSize")?.unwrap_or(0);
                if min_size > max_size {
                    return Err((
                        "minPoolSize".into(),
                        format!("{min_size} is above maxPoolSize {max_size}"),
                    ));
                }
                let max_idle = pymongo_timeout_ms(self.max_idle_time_ms, "maxIdleTimeMS")?;
                let wait = pymongo_timeout_ms(self.wait_queue_timeout_ms, "waitQueueTimeoutMS")?;
                let max_connecting =
                    at_least(self.max_connecting, "maxConnecting", 1)?.unwrap_or(2);
                // The streaming protocol adds an RTT monitor beside each member's monitor;
                // polling uses the monitor's socket alone.
                let monitors_per_member = match self.server_monitoring_mode.as_deref() {
                    None | Some("auto") | Some("stream") => 2,
                    Some("poll") => 1,
                    Some(other) => {
                        return Err((
                            "serverMonitoringMode".into(),
                            format!("`{other}`: expected auto, stream or poll"),
                        ))
                    }
                };
                Ok(ClientPool {
                    max_size,
                    min_size,
                    max_idle_s: max_idle.map(|ms| f64::from(ms) / 1000.0),
                    max_connecting,
                    exhausted: Exhausted::Block {
                        timeout_s: wait.map(|ms| f64::from(ms) / 1000.0),
                    },
                    monitors_per_member,
                    leaks_on_failover: false,
                    sync_api,
                })
            }
            "redis-py" => {
                foreign(&[
                    ("maxPoolSize", self.max_pool_size.is_some()),
                    ("minPoolSize", self.min_pool_size.is_some()),
                    ("maxIdleTimeMS", self.max_idle_time_ms.is_some()),
                    ("waitQueueTimeoutMS", self.wait_queue_timeout_ms.is_some()),
                    ("maxConnecting", self.max_connecting.is_some()),
                    (
                        "serverMonitoringMode",
                        self.server_monitoring_mode.is_some(),
                    ),
                ])?;
                let blocking = match self.pool_class.as_deref() {
                    None | Some("ConnectionPool") | Some("SentinelConnectionPool") => false,
                    Some("BlockingConnectionPool") => true,
                    Some(other) => {
                        return Err((
                            "pool_class".into(),
                            format!("`{other}`: expected ConnectionPool, BlockingConnectionPool or SentinelConnectionPool"),
                        ))
                    }
                };
                if !blocking && self.timeout.is_some() {
                    return Err((
                        "timeout".into(),
                        "only a BlockingConnectionPool waits; a ConnectionPool raises at once"
                            .into(),
                    ));
                }
                // redis-py: `max_connections = max_connections or 2**31`, so 0 and None mean
                // no limit; a negative count raises ValueError.
                let max_size = match self.max_connections {
                    None if blocking => 50,
                    None => REDIS_PY_UNLIMITED,
                    Some(v) => match non_negative(v, "max_connections")? {
                        Some(0) | None if blocking => {
                            return Err((
                                "max_connections".into(),
                                format!(
                                    "{}: redis-py reads it as 2**31, and a BlockingConnectionPool fills \
                                     a queue of that many slots when it is created (it never finishes \
                                     starting); expected a count ≥ 1, or leave it out for 50",
                                    v.map_or("null".to_string(), |n| n.to_string())
                                ),
                            ))
                        }
                        Some(0) | None => REDIS_PY_UNLIMITED,
                        Some(n) => n,
                    },
                };
                // BlockingConnectionPool(timeout=None) blocks forever.
                let timeout = match self.timeout {
                    None => Some(20.0),
                    Some(t) => t,
                };
                if let Some(t) = timeout {
                    if !(t.is_finite() && t >= 0.0) {
                        return Err((
                            "timeout".into(),
                            format!("{t}: expected seconds ≥ 0, or null to wait forever"),
                        ));
                    }
                }
                let release = self
                    .version
                    .as_deref()
                    .map(|v| {
                        python_release(v).ok_or_else(|| {
                            (
                                "version".to_string(),
                                format!(
                                    "{v:?}: expected a redis-py release such as \"8.0.1\" \
                                     (PEP 440: digits and dots, optional suffix)"
                                ),
                            )
                        })
                    })
                    .transpose()?;
                let leaks = self.pool_class.as_deref() == Some("SentinelConnectionPool")
                    && release.is_some_and(|r| SENTINEL_LEAK.contains(&r));
                Ok(ClientPool {
                    max_size,
                    min_size: 0,
                    max_idle_s: None,
                    max_connecting: max_size,
                    exhausted: if blocking {
                        Exhausted::Block { timeout_s: timeout }
                    } else {
                        Exhausted::Raise
                    },
                    monitors_per_member: 0,
                    leaks_on_failover: leaks,
                    sync_api,
                })
            }
            other => Err((
                "client".into(),
                format!(
                    "`{other}` is not a client costsim models; expected pymongo, motor or redis-py"
                ),
            )),
        }
    }
}

impl ClientPoolConfig {
    /// The pool with the search's other settings: `min_size` (pymongo/motor `minPoolSize`),
    /// `blocking` (redis-py `BlockingConnectionPool` or `ConnectionPool`) and `timeout` (pymongo
    /// `waitQueueTimeoutMS`; redis-py's blocking pool `timeout`; a raising pool has none). A
    /// setting the client does not have is left alone (the space check rejects it first).
    pub fn with_settings(
        &self,
        min_size: Option<u32>,
        blocking: Option<bool>,
        timeout: Option<crate::model::space::PoolTimeout>,
    ) -> ClientPoolConfig {
        use crate::model::space::PoolTimeout;
        let mut c = self.clone();
        if c.client == "redis-py" {
            if let Some(b) = blocking {
                c.pool_class = Some(
                    if b {
                        "BlockingConnectionPool"
                    } else {
                        "ConnectionPool"
                    }
                    .into(),
                );
            }
            let is_blocking = c.pool_class.as_deref() == Some("BlockingConnectionPool");
            match timeout {
                Some(PoolTimeout::After(ms)) if is_blocking => {
                    c.timeout = Some(Some(ms as f64 / 1000.0))
                }
                Some(PoolTimeout::Forever) if is_blocking => c.timeout = Some(None),
                _ if !is_blocking => c.timeout = None,
                _ => {}
            }
        } else {
            if let Some(m) = min_size {
                c.min_pool_size = Some(i64::from(m));
            }
            match timeout {
                Some(PoolTimeout::After(ms)) => c.wait_queue_timeout_ms = Some(ms as i64),
                Some(PoolTimeout::Forever) => c.wait_queue_timeout_ms = None,
                None => {}
            }
        }
        c
    }

    /// The same pool with `size` connections per process (`maxPoolSize` or `max_connections`);
    /// a `minPoolSize` above it stays (the search skips such a pool, as pymongo refuses it).
    pub fn with_max_size(&self, size: u32) -> ClientPoolConfig {
        let mut c = self.clone();
        match c.client.as_str() {
            "redis-py" => c.max_connections = Some(Some(i64::from(size))),
            _ => c.max_pool_size = Some(Some(i64::from(size))),
        }
        c
    }
}

/// The largest pool size per process whose budget, `replicas × processes × (size +
/// monitors)`, fits in `room` connections (at least 1).
pub fn fitting_size(room: u64, replicas: u64, processes: u32, monitors: u32) -> u32 {
    let per_size = replicas.max(1).saturating_mul(u64::from(processes.max(1)));
    let size = (room / per_size).saturating_sub(u64::from(monitors));
    u32::try_from(size).unwrap_or(u32::MAX).max(1)
}

/// A server's connection limit (the scenario's `servers:` entry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// What the server speaks (`mongodb` or `redis`), so that a pool with the other protocol's
    /// client (a swapped driver) is bad input; absent: not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// Most client connections per member (Redis `maxclients`, default 10000; ApsaraDB for
    /// MongoDB: by instance type, e.g. 500 per node for a 1-core 2 GB replica set).
    pub max_connections: u32,
    /// Replica-set members every client monitors (default 1).
    #[serde(default = "one")]
    pub replica_set_members: u32,
    /// Instance type, for the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    /// Failovers (Sentinel master switches, replica-set elections) during the run.
    #[serde(default, with = "durations", skip_serializing_if = "Vec::is_empty")]
    pub failovers: Vec<Millis>,
    /// Time to establish one connection: TCP + TLS + the driver handshake and authentication
    /// (default [`DEFAULT_HANDSHAKE_MS`]).
    #[serde(
        default,
        with = "crate::model::service::opt_duration_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub handshake: Option<Millis>,
    /// Server memory per client connection, when the server is a workload of the scenario
    /// (default [`REDIS_BYTES_PER_CONNECTION`]: Redis's per-client buffers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_per_connection: Option<Bytes>,
}

/// A downstream server's wire protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// MongoDB (clients: pymongo, motor).
    Mongodb,
    /// Redis (client: redis-py).
    Redis,
}

impl Protocol {
    /// The protocol a client library speaks (`None` for one costsim does not model).
    pub fn of_client(client: &str) -> Option<Protocol> {
        match client {
            "pymongo" | "motor" => Some(Protocol::Mongodb),
            "redis-py" => Some(Protocol::Redis),
            _ => None,
        }
    }

    /// Its name, as the scenario writes it.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Mongodb => "mongodb",
            Protocol::Redis => "redis",
        }
    }

    /// The clients that speak it.
    pub fn clients(self) -> &'static str {
        match self {
            Protocol::Mongodb => "pymongo or motor",
            Protocol::Redis => "redis-py",
        }
    }
}

/// Default connection establishment time, ms: in-region TCP (0.5–2 ms) + TLS (10–50 ms) +
/// SCRAM-SHA-256 (2 round trips, 5–20 ms) lies in 7–175 ms per connection; 20 ms is the
/// low end of that range with TLS (assumed; see docs/design.md, client pools).
pub const DEFAULT_HANDSHAKE_MS: Millis = 20;

/// Default server memory per client connection, bytes: Redis gives every client a 16 KiB
/// reply buffer (`PROTO_REPLY_CHUNK_BYTES`, src/server.h) and reads its queries into a
/// 16 KiB query buffer (`PROTO_IOBUF_LEN`).
pub const REDIS_BYTES_PER_CONNECTION: i64 = 32 * 1024;

impl ServerConfig {
    /// Connection establishment time, seconds.
    pub fn handshake_s(&self) -> f64 {
        self.handshake.unwrap_or(DEFAULT_HANDSHAKE_MS) as f64 / 1000.0
    }

    /// Server memory per client connection, bytes.
    pub fn bytes_per_connection(&self) -> f64 {
        self.memory_per_connection
            .map_or(REDIS_BYTES_PER_CONNECTION, |b| b.0) as f64
    }
}

fn one() -> u32 {
    1
}

/// A list of durations.
mod durations {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::time::Millis;

    #[derive(Serialize, Deserialize)]
    struct D(#[serde(with = "super::duration_serde")] Millis);

    pub fn serialize<S: Serializer>(v: &[Millis], s: S) -> Result<S::Ok, S::Error> {
        v.iter().map(|&m| D(m)).collect::<Vec<_>>().serialize(s)
    }

    pub fn deserialize<'de, D2: Deserializer<'de>>(d: D2) -> Result<Vec<Millis>, D2::Error> {
        Ok(Vec::<D>::deserialize(d)?
            .into_iter()
            .map(|D(m)| m)
            .collect())
    }
}

/// Connections one workload can open at a server at most, with `replicas` pods of `processes`
/// worker processes each, a process serving at most `concurrency` requests at once: every
/// process filling its pool, plus its monitoring connections. Both drivers open connections
/// on demand, one per operation in progress, so a process never holds more than it has
/// requests in flight (a request's operations run one after the other): redis-py's default
/// pool of 2**31 is bounded by the worker's concurrency limit, not by its size. pymongo's
/// `minPoolSize` connections are opened eagerly whatever the concurrency, so a process holds
/// at least that many.
pub fn connection_budget(
    pool: &ClientPool,
    replicas: u64,
    processes: u32,
    concurrency: u32,
) -> u64 {
    let per_process = pool.max_size.min(concurrency.max(1)).max(pool.min_size);
    replicas
        .saturating_mul(u64::from(processes))
        .saturating_mul(u64::from(per_process) + u64::from(pool.monitors_per_member))
}

/// Connections one workload holds at a server when idle: every process keeps `minPoolSize`
/// open and its monitors.
pub fn idle_connections(pool: &ClientPool, replicas: u32, processes: u32) -> u64 {
    u64::from(replicas)
        * u64::from(processes)
        * (u64::from(pool.min_size) + u64::from(pool.monitors_per_member))
}

/// redis-py releases whose `SentinelConnectionPool` loses a slot per connection in flight at a
/// master switch (redis/redis-py#4187: reported on 8.0.0 and 8.0.1, fixed by #4193 after
/// 8.0.1). Release segments `[major, minor, micro]`; a pre-release of 8.0.0 counts as 8.0.0.
pub const SENTINEL_LEAK: std::ops::Range<[u32; 3]> = [8, 0, 0]..[8, 0, 2];

/// The release segment `[major, minor, micro]` of a PEP 440 version string: an optional `==`
/// or `v` prefix, one to three dot-separated numbers (missing ones are 0), then an optional
/// pre/post/dev/local suffix (`rc1`, `.post1`, `+local`), which is ignored. `None` when the
/// text is not a version.
pub fn python_release(text: &str) -> Option<[u32; 3]> {
    let t = text.trim();
    let t = t.strip_prefix("==").unwrap_or(t).trim_start();
    let t = t.strip_prefix(['v', 'V']).unwrap_or(t);
    let end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (numbers, suffix) = t.split_at(end);
    // "8.0.0.post1": the dot before a suffix belongs to the suffix.
    let numbers = match numbers.strip_suffix('.') {
        Some(n) if !suffix.is_empty() => n,
        _ => numbers,
    };
    let suffix_ok = suffix.is_empty()
        || suffix.starts_with(|c: char| c.is_ascii_alphabetic() || "+-_".contains(c))
            && suffix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".+-_".contains(c));
    if numbers.is_empty() || !suffix_ok {
        return None;
    }
    let mut release = [0u32; 3];
    for (i, part) in numbers.split('.').enumerate() {
        let n = part.parse::<u32>().ok()?;
        if let Some(slot) = release.get_mut(i) {
            *slot = n;
        }
    }
    Some(release)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pymongo(max: Option<i64>, min: Option<i64>) -> ClientPoolConfig {
        ClientPoolConfig {
            client: "pymongo".into(),
            max_pool_size: max.map(Some),
            min_pool_size: min,
            ..ClientPoolConfig::default()
        }
    }

    #[test]
    fn fitting_size_keeps_the_budget_within_the_room() {
        // 500 connections over 10 replicas × 2 processes: 25 each, 2 of them monitors.
        assert_eq!(fitting_size(500, 10, 2, 2), 23);
        let p = pymongo(Some(23), None).resolve().unwrap();
        assert!(connection_budget(&p, 10, 2, 100) <= 500);
        assert!(connection_budget(&pymongo(Some(24), None).resolve().unwrap(), 10, 2, 100) > 500);
        assert_eq!(fitting_size(10, 10, 2, 2), 1, "never below one connection");
    }

    /// pymongo reads `maxPoolSize=0` as no limit (its pool sets `max_pool_size = inf`); a
    /// negative size is an error naming the field.
    #[test]
    fn pymongo_max_pool_size_zero_is_unlimited() {
        let p = pymongo(Some(0), Some(5)).resolve().unwrap();
        assert_eq!((p.max_size, p.min_size), (UNLIMITED_POOL, 5));
        let err = pymongo(Some(-1), None).resolve().unwrap_err();
        assert_eq!(err.0, "maxPoolSize");
    }

    #[test]
    fn python_versions_parse_to_their_release() {
        for (text, want) in [
            ("8.0.1", Some([8, 0, 1])),
            ("v8.0.1", Some([8, 0, 1])),
            ("==8.0.0", Some([8, 0, 0])),
            ("8.0", Some([8, 0, 0])),
            ("8", Some([8, 0, 0])),
            ("8.0.0rc1", Some([8, 0, 0])),
            ("8.0.1.post1", Some([8, 0, 1])),
            ("8.0.1+local.2", Some([8, 0, 1])),
            ("7.4.0.1", Some([7, 4, 0])),
            ("latest", None),
            ("", None),
            ("8..1", None),
            ("8.0.1 !", None),
            (">=8.0", None),
        ] {
            assert_eq!(python_release(text), want, "{text:?}");
        }
    }

    #[test]
    fn only_affected_redis_py_releases_leak_sentinel_slots() {
        let sentinel = |v: &str| {
            ClientPoolConfig {
                client: "redis-py".into(),
                pool_class: Some("SentinelConnectionPool".into()),
                version: Some(v.into()),
                ..ClientPoolConfig::default()
            }
            .resolve()
        };
        for (v, leaks) in [
            ("7.4.0", false),
            ("8.0.0rc2", true),
            ("8.0.0", true),
            ("v8.0.1", true),
            ("8.0.1.post1", true),
            ("8.0.2", false),
            ("8.1", false),
        ] {
            assert_eq!(sentinel(v).unwrap().leaks_on_failover, leaks, "{v}");
        }
        let err = sentinel("eight").unwrap_err();
        assert_eq!(err.0, "version");
        assert!(err.1.contains("\"eight\""), "{}", err.1);
    }

    #[test]
    fn driver_defaults() {
        let p = pymongo(None, None).resolve().unwrap();
        assert_eq!((p.max_size, p.min_size, p.max_connecting), (100, 0, 2));
        assert_eq!(p.exhausted, Exhausted::Block { timeout_s: None });
        assert_eq!(p.monitors_per_member, 2);
        let r = ClientPoolConfig {
            client: "redis-py".into(),
            ..ClientPoolConfig::default()
        };
        let r = r.resolve().unwrap();
        assert_eq!(
            (r.max_size, r.exhausted),
            (REDIS_PY_UNLIMITED, Exhausted::Raise)
        );
        let b = ClientPoolConfig {
            client: "redis-py".into(),
            pool_class: Some("BlockingConnectionPool".into()),
            ..ClientPoolConfig::default()
        };
        let b = b.resolve().unwrap();
        assert_eq!(b.max_size, 50);
        assert_eq!(
            b.exhausted,
            Exhausted::Block {
                timeout_s: Some(20.0)
            }
        );
    }

    #[test]
    fn bad_settings_name_their_field() {
        assert_eq!(
            pymongo(Some(-1), None).resolve().unwrap_err().0,
            "maxPoolSize"
        );
        assert_eq!(
            pymongo(Some(5), Some(10)).resolve().unwrap_err().0,
            "minPoolSize"
        );
        let mut c = pymongo(None, None);
        c.client = "psycopg".into();
        let (f, m) = c.resolve().unwrap_err();
        assert_eq!(f, "client");
        assert!(m.contains("pymongo, motor or redis-py"), "{m}");
        let mut c = pymongo(None, None);
        c.max_connections = Some(Some(10));
        assert_eq!(c.resolve().unwrap_err().0, "max_connections");
    }

    /// redis-py's default pool (2**31) opens a connection per command in flight, so 10 pods
    /// × 2 processes serving at most 100 requests each hold at most 10 × 2 × 100 = 2,000
    /// connections: within Redis' default `maxclients` of 10,000.
    #[test]
    fn an_unbounded_pool_is_bounded_by_the_worker_concurrency() {
        let p = ClientPoolConfig {
            client: "redis-py".into(),
            ..ClientPoolConfig::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(p.max_size, 1 << 31);
        assert_eq!(connection_budget(&p, 10, 2, 100), 2_000);
        // A pool smaller than the concurrency limit is its own bound.
        let small = pymongo(Some(20), None).resolve().unwrap();
        assert_eq!(connection_budget(&small, 10, 2, 100), 10 * 2 * (20 + 2));
    }

    #[test]
    fn api_sync_blocks_only_an_event_loop() {
        use crate::model::service::WorkerKind;
        let mut c = pymongo(None, None);
        c.api = Some("sync".into());
        let p = c.resolve().unwrap();
        assert!(p.blocks_process(WorkerKind::Async));
        assert!(!p.blocks_process(WorkerKind::Threads));
        assert!(!pymongo(None, None)
            .resolve()
            .unwrap()
            .blocks_process(WorkerKind::Async));
        c.client = "motor".into();
        assert_eq!(c.resolve().unwrap_err().0, "api");
        c.client = "pymongo".into();
        c.api = Some("blocking".into());
        let (f, m) = c.resolve().unwrap_err();
        assert_eq!(f, "api");
        assert!(m.contains("sync or async"), "{m}");
    }

    /// Field case "MongoDB: minPoolSize × processes over the Atlas connection cap at idle"
    /// (novu#4073): three processes with minPoolSize 200 hold 3 × (200 + 2) = 606 connections
    /// on the primary at idle, over a 500 cap; their budget is 3 × (500 + 2) = 1,506.
    #[test]
    fn min_pool_size_times_processes_exceeds_the_cap_at_idle() {
        let p = pymongo(Some(500), Some(200)).resolve().unwrap();
        assert_eq!(idle_connections(&p, 3, 1), 606);
        assert!(idle_connections(&p, 3, 1) > 500);
        assert_eq!(connection_budget(&p, 3, 1, 1000), 1506);
        let fixed = pymongo(Some(500), Some(5)).resolve().unwrap();
        assert_eq!(idle_connections(&fixed, 3, 1), 21);
    }
}

//! ACK's default node resource reservation: what a worker node's kubelet withholds from pods.
//!
//! `Allocatable = Capacity − kubeReserved − systemReserved − eviction threshold`, with
//! kubeReserved and systemReserved each half of a total that grows with node size.
//!
//! Source: Alibaba Cloud, *Container Service for Kubernetes — Node resource reservation policy*,
//! <https://www.alibabacloud.com/help/en/ack/ack-managed-and-ack-dedicated/user-guide/resource-reservation-policy>
//! (also <https://www.alibabacloud.com/help/doc-detail/330995.htm>, "Last Updated: Mar 11, 2025";
//! the full text was read from an undated stored copy whose wording matches that 2025 version).
//! The eviction threshold is ACK's kubelet default `evictionHard` from *Customize kubelet
//! parameters for a node pool*,
//! <https://www.alibabacloud.com/help/en/ack/ack-managed-and-ack-dedicated/user-guide/customize-the-kubelet-configurations-of-a-node-pool>
//! ("Last Updated: Nov 20, 2025").
//!
//! ACK changed the policy in Kubernetes 1.28, so both versions are here ([`ReservationPolicy`]):
//!
//! | | Kubernetes 1.20–1.27 | Kubernetes 1.28 and later (default here) |
//! |---|---|---|
//! | CPU | 100m up to 4 cores, then 2.5 % of cores 4–64, 1.25 % of 64–128, 0.5 % above | 6 % of the 1st core, 1 % of the 2nd, 0.5 % of cores 3–4, 0.25 % above 4 |
//! | memory | 25 % of the first 4 GiB, 20 % of 4–8 GiB, 10 % of 8–16 GiB, 6 % of 16–128 GiB, 2 % above | `min(11 × maxPods + 255 MiB, 25 % of node memory)` |
//!
//! "Node memory" is the memory the node really has (the kubelet's memory capacity, MemTotal), not
//! the nominal instance size; see [`kubelet_memory_capacity_bytes`].
//!
//! **The page's example** (4 cores, capacity 7925980Ki, 64 pods → allocatable 3900m CPU and
//! 5824732Ki memory) is reproduced exactly by the **1.20–1.27** policy, not by the 1.28 one: 3900m
//! is 4000m − 100m (1.28 would give 4000m − 80m = 3920m), and 7925980Ki − 5824732Ki = 2052 MiB =
//! 1752 MiB reserved + 300 MiB eviction, where 1752 MiB = ⌊25 % × 4096⌋ + ⌊20 % × (7740.2 − 4096)⌋
//! MiB on the *kubelet* capacity (7740.2 MiB). The 1.28 policy, which does depend on max pods, would
//! reserve only `min(11 × 64 + 255, 25 % × 7740) = 959 MiB` (allocatable 6636764Ki). Presumably the
//! example output predates the 1.28 change and was kept when the page gained the 1.28 section (our
//! inference; the page does not say which version produced it). The 1.20–1.27 policy does not
//! depend on max pods.
//!
//! Rounding, inferred from the page's own numbers (the page does not state it): every tier's share
//! is rounded down to whole millicores / whole MiB before summing (the page's table lists
//! 256 GiB → 12164 MiB, which is the sum of floored tiers, not ⌊12165.12⌋; the example needs
//! ⌊728.84⌋ = 728). The total is then split in half: kubeReserved gets the lower half (to the
//! millicore / byte), systemReserved the rest. How ACK splits an odd total is not documented; it
//! never changes allocatable.
//!
//! Pure functions, no IO; negative inputs count as zero and every result saturates instead of
//! panicking.

/// One mebibyte in bytes.
const MIB: i64 = 1 << 20;
/// One gibibyte in bytes.
const GIB: i64 = 1 << 30;
/// Denominator of the tier rates below, which are in basis points (1 bp = 0.01 %).
const BASIS_POINTS: i128 = 10_000;

/// Default ACK hard eviction threshold `memory.available<300Mi` (Customize kubelet parameters page,
/// `evictionHard` default `imagefs.available<15%,memory.available<300Mi,nodefs.available<10%,nodefs.inodesFree<5%`).
pub const EVICTION_HARD_MEMORY_BYTES: i64 = 300 * MIB;

/// 1.20–1.27: flat CPU reservation for the first 4 cores (reservation policy page, "≤ 4 cores: 100m").
const LEGACY_CPU_BASE_MILLI: i64 = 100;
/// 1.20–1.27: CPU tiers above the first 4 cores, `(band end in millicores, rate in bp)` (reservation policy page figure and table).
const LEGACY_CPU_TIERS: [(i64, i64); 3] = [(64_000, 250), (128_000, 125), (i64::MAX, 50)];
/// Start of the first 1.20–1.27 CPU tier: the flat 100m covers cores 0–4.
const LEGACY_CPU_TIERS_START_MILLI: i64 = 4_000;
/// 1.20–1.27: memory tiers, `(band end in bytes, rate in bp)`: 25 % / 20 % / 10 % / 6 % / 2 % (reservation policy page).
const LEGACY_MEMORY_TIERS: [(i64, i64); 5] = [
    (4 * GIB, 2_500),
    (8 * GIB, 2_000),
    (16 * GIB, 1_000),
    (128 * GIB, 600),
    (i64::MAX, 200),
];

/// 1.28+: CPU tiers, `(band end in millicores, rate in bp)`: 6 % / 1 % / 0.5 % / 0.25 % (reservation policy page, 32 cores → 150m).
const CURRENT_CPU_TIERS: [(i64, i64); 4] =
    [(1_000, 600), (2_000, 100), (4_000, 50), (i64::MAX, 25)];
/// 1.28+: memory per schedulable pod in MiB, the `11` in `11 × maxPods + 255` (reservation policy page).
const CURRENT_MEMORY_MIB_PER_POD: i64 = 11;
/// 1.28+: fixed memory in MiB, the `255` in `11 × maxPods + 255` (reservation policy page).
const CURRENT_MEMORY_BASE_MIB: i64 = 255;
/// 1.28+: cap on the memory reservation, 25 % of node memory, in bp (reservation policy page).
const CURRENT_MEMORY_CAP_BP: i64 = 2_500;

/// The documented example node's kubelet memory capacity in KiB (reservation policy page: `memory: 7925980Ki`).
const EXAMPLE_KUBELET_MEMORY_KI: i64 = 7_925_980;
/// The nominal memory of the example node, 8 GiB in KiB (a 4-core, 8 GiB ECS type such as c-family xlarge).
const EXAMPLE_NOMINAL_MEMORY_KI: i64 = 8 * 1024 * 1024;

/// Which ACK default reservation policy a node gets; it follows the cluster's Kubernetes version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReservationPolicy {
    /// Clusters on Kubernetes 1.20 to 1.27 (and older nodes not yet re-configured after an upgrade).
    K8s1_20To1_27,
    /// Clusters on Kubernetes 1.28 or later: the policy a cluster created today gets.
    #[default]
    K8s1_28Plus,
}

/// Resources the kubelet withholds from pods on one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reserved {
    /// `kubeReserved.cpu`, millicores.
    pub kube_cpu_milli: i64,
    /// `kubeReserved.memory`, bytes.
    pub kube_memory_bytes: i64,
    /// `systemReserved.cpu`, millicores.
    pub system_cpu_milli: i64,
    /// `systemReserved.memory`, bytes.
    pub system_memory_bytes: i64,
    /// Hard eviction threshold `memory.available`, bytes.
    pub eviction_memory_bytes: i64,
}

impl Reserved {
    /// kubeReserved + systemReserved CPU, millicores.
    pub fn total_cpu_milli(&self) -> i64 {
        self.kube_cpu_milli.saturating_add(self.system_cpu_milli)
    }

    /// kubeReserved + systemReserved memory (without the eviction threshold), bytes.
    pub fn total_memory_bytes(&self) -> i64 {
        self.kube_memory_bytes
            .saturating_add(self.system_memory_bytes)
    }
}

/// What the scheduler may place on one node (before DaemonSet pods).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allocatable {
    /// Allocatable CPU, millicores.
    pub cpu_milli: i64,
    /// Allocatable memory, bytes.
    pub memory_bytes: i64,
    /// Maximum number of pods on the node.
    pub pods: u32,
}

/// ACK's default reservation for a node under the 1.28+ policy ([`ReservationPolicy::default`]).
pub fn reserved(capacity_cpu_milli: i64, capacity_memory_bytes: i64, max_pods: u32) -> Reserved {
    reserved_for(
        ReservationPolicy::default(),
        capacity_cpu_milli,
        capacity_memory_bytes,
        max_pods,
    )
}

/// ACK's allocatable for a node under the 1.28+ policy ([`ReservationPolicy::default`]).
pub fn allocatable(
    capacity_cpu_milli: i64,
    capacity_memory_bytes: i64,
    max_pods: u32,
) -> Allocatable {
    allocatable_for(
        ReservationPolicy::default(),
        capacity_cpu_milli,
        capacity_memory_bytes,
        max_pods,
    )
}

/// ACK's default reservation for a node with this kubelet capacity, under `policy`.
pub fn reserved_for(
    policy: ReservationPolicy,
    capacity_cpu_milli: i64,
    capacity_memory_bytes: i64,
    max_pods: u32,
) -> Reserved {
    let cpu = capacity_cpu_milli.max(0);
    let memory = capacity_memory_bytes.max(0);
    let (cpu_milli, memory_mib) = match policy {
        ReservationPolicy::K8s1_20To1_27 => (
            legacy_cpu_milli(cpu),
            tiered(memory, 0, &LEGACY_MEMORY_TIERS, MIB),
        ),
        ReservationPolicy::K8s1_28Plus => (
            tiered(cpu, 0, &CURRENT_CPU_TIERS, 1),
            current_memory_mib(memory, max_pods),
        ),
    };
    let memory_bytes = memory_mib.saturating_mul(MIB);
    let kube_cpu_milli = cpu_milli / 2;
    let kube_memory_bytes = memory_bytes / 2;
    Reserved {
        kube_cpu_milli,
        kube_memory_bytes,
        system_cpu_milli: cpu_milli - kube_cpu_milli,
        system_memory_bytes: memory_bytes - kube_memory_bytes,
        eviction_memory_bytes: EVICTION_HARD_MEMORY_BYTES,
    }
}

/// ACK's allocatable for a node with this kubelet capacity, under `policy`; never negative.
pub fn allocatable_for(
    policy: ReservationPolicy,
    capacity_cpu_milli: i64,
    capacity_memory_bytes: i64,
    max_pods: u32,
) -> Allocatable {
    let cpu = capacity_cpu_milli.max(0);
    let memory = capacity_memory_bytes.max(0);
    let r = reserved_for(policy, cpu, memory, max_pods);
    Allocatable {
        cpu_milli: cpu.saturating_sub(r.total_cpu_milli()).max(0),
        memory_bytes: memory
            .saturating_sub(r.total_memory_bytes())
            .saturating_sub(r.eviction_memory_bytes)
            .max(0),
        pods: max_pods,
    }
}

/// The memory capacity the kubelet reports (MemTotal, whole KiB) for an ECS instance of
/// `nominal_memory_bytes`: the nominal size scaled by the documented example's ratio
/// 7925980Ki / 8 GiB (≈ 0.94485), rounded down to a whole KiB.
///
/// An assumption, not a measurement: the kernel's own overhead is partly proportional (page
/// structs, ≈ 1.6 %) and partly fixed or stepped (kernel image, kdump's `crashkernel`), and varies
/// with the OS image, so a single ratio is exact only for 8 GiB and gives 3962990Ki for 4 GiB and
/// 15851960Ki for 16 GiB. With a partly fixed overhead the true 16 GiB figure would be somewhat
/// higher, so this errs towards less allocatable memory.
pub fn kubelet_memory_capacity_bytes(nominal_memory_bytes: i64) -> i64 {
    let nominal_ki = i128::from(nominal_memory_bytes.max(0) / 1024);
    let ki =
        nominal_ki * i128::from(EXAMPLE_KUBELET_MEMORY_KI) / i128::from(EXAMPLE_NOMINAL_MEMORY_KI);
    saturate(ki.saturating_mul(1024))
}

/// 1.20–1.27 CPU: 100m flat for the first 4 cores, tiers above.
fn legacy_cpu_milli(capacity_milli: i64) -> i64 {
    LEGACY_CPU_BASE_MILLI.saturating_add(tiered(
        capacity_milli,
        LEGACY_CPU_TIERS_START_MILLI,
        &LEGACY_CPU_TIERS,
        1,
    ))
}

/// 1.28+ memory in MiB: `min(11 × maxPods + 255, ⌊25 % × node memory in MiB⌋)`.
fn current_memory_mib(capacity_bytes: i64, max_pods: u32) -> i64 {
    let per_pods = CURRENT_MEMORY_MIB_PER_POD
        .saturating_mul(i64::from(max_pods))
        .saturating_add(CURRENT_MEMORY_BASE_MIB);
    let cap = saturate(
        i128::from(capacity_bytes) * i128::from(CURRENT_MEMORY_CAP_BP)
            / (BASIS_POINTS * i128::from(MIB)),
    );
    per_pods.min(cap)
}

/// Sum over `tiers` (band ends ascending, rates in bp) of the part of `amount` inside each band,
/// starting at `start`, times the band's rate, each band floored to a whole `unit` and summed in
/// units.
fn tiered(amount: i64, start: i64, tiers: &[(i64, i64)], unit: i64) -> i64 {
    let mut total: i128 = 0;
    let mut lower = start;
    for &(upper, rate_bp) in tiers {
        if amount <= lower {
            break;
        }
        let in_band = i128::from(amount.min(upper)) - i128::from(lower);
        total += in_band * i128::from(rate_bp) / (BASIS_POINTS * i128::from(unit));
        lower = upper;
    }
    saturate(total)
}

/// Clamps an `i128` into `i64`.
fn saturate(x: i128) -> i64 {
    i64::try_from(x).unwrap_or(if x < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KI: i64 = 1024;

    /// Kubelet memory capacities of the catalog's three pools, from [`kubelet_memory_capacity_bytes`].
    const CAP_4GI_KI: i64 = 3_962_990;
    const CAP_8GI_KI: i64 = 7_925_980;
    const CAP_16GI_KI: i64 = 15_851_960;

    #[test]
    fn documented_example_is_the_1_20_to_1_27_policy() {
        // Reservation policy page: 4 cores, 7925980Ki, 64 pods → 3900m, 5824732Ki.
        let a = allocatable_for(ReservationPolicy::K8s1_20To1_27, 4_000, 7_925_980 * KI, 64);
        assert_eq!(
            a,
            Allocatable {
                cpu_milli: 3_900,
                memory_bytes: 5_824_732 * KI,
                pods: 64
            }
        );
        let r = reserved_for(ReservationPolicy::K8s1_20To1_27, 4_000, 7_925_980 * KI, 64);
        // 1024 + ⌊0.2 × (7740.21 − 4096)⌋ = 1024 + 728 = 1752 MiB, split 876 + 876.
        assert_eq!(r.kube_memory_bytes, 876 * MIB);
        assert_eq!(r.system_memory_bytes, 876 * MIB);
        assert_eq!((r.kube_cpu_milli, r.system_cpu_milli), (50, 50));
        assert_eq!(r.eviction_memory_bytes, 300 * MIB);
    }

    #[test]
    fn documented_example_under_1_28_differs() {
        // 4000 − (60 + 10 + 10) = 3920m; 7925980Ki − (11·64 + 255 = 959 MiB) − 300 MiB = 6636764Ki.
        let a = allocatable(4_000, 7_925_980 * KI, 64);
        assert_eq!(a.cpu_milli, 3_920);
        assert_eq!(a.memory_bytes, 6_636_764 * KI);
        // Doubling max pods changes the 1.28 reservation but not the 1.20–1.27 one.
        assert_ne!(
            reserved(4_000, 7_925_980 * KI, 128),
            reserved(4_000, 7_925_980 * KI, 64)
        );
        assert_eq!(
            reserved_for(ReservationPolicy::K8s1_20To1_27, 4_000, 7_925_980 * KI, 128),
            reserved_for(ReservationPolicy::K8s1_20To1_27, 4_000, 7_925_980 * KI, 64)
        );
    }

    #[test]
    fn catalog_pools_under_1_28_policy() {
        // 2 vCPU: CPU reserved = 6 % × 1000 + 1 % × 1000 = 60 + 10 = 70m → 1930m.
        // Memory reserved = min(11 × 64 + 255 = 959 MiB, ⌊25 % × capacity MiB⌋); 959 MiB = 982016Ki,
        // eviction 300 MiB = 307200Ki.
        // 2/4:  cap 3962990Ki (3870.1 MiB, 25 % = 967) → 959 → 3962990 − 982016 − 307200 = 2673774Ki
        // 2/8:  cap 7925980Ki → 959 → 7925980 − 982016 − 307200 = 6636764Ki
        // 2/16: cap 15851960Ki → 959 → 15851960 − 982016 − 307200 = 14562744Ki
        for (cap_ki, want_ki) in [
            (CAP_4GI_KI, 2_673_774),
            (CAP_8GI_KI, 6_636_764),
            (CAP_16GI_KI, 14_562_744),
        ] {
            let a = allocatable(2_000, cap_ki * KI, 64);
            assert_eq!(a.cpu_milli, 1_930, "{cap_ki}Ki");
            assert_eq!(a.memory_bytes, want_ki * KI, "{cap_ki}Ki");
            assert_eq!(a.pods, 64);
        }
        let r = reserved(2_000, CAP_8GI_KI * KI, 64);
        assert_eq!((r.kube_cpu_milli, r.system_cpu_milli), (35, 35));
        // 959 MiB split exactly in half: 479.5 MiB = 491008Ki each.
        assert_eq!(r.kube_memory_bytes, 491_008 * KI);
        assert_eq!(r.system_memory_bytes, 491_008 * KI);
    }

    #[test]
    fn catalog_pools_under_1_20_to_1_27_policy() {
        // 2 vCPU: 100m → 1900m.
        // 2/4:  3870.1 MiB → ⌊0.25 × 3870.1⌋ = 967 MiB (990208Ki) → 3962990 − 990208 − 307200 = 2665582Ki
        // 2/8:  the documented example's memory → 5824732Ki
        // 2/16: 15480.4 MiB → 1024 + ⌊819.2⌋ + ⌊0.1 × (15480.4 − 8192)⌋ = 1024 + 819 + 728 = 2571 MiB
        //       (2632704Ki) → 15851960 − 2632704 − 307200 = 12912056Ki
        for (cap_ki, want_ki) in [
            (CAP_4GI_KI, 2_665_582),
            (CAP_8GI_KI, 5_824_732),
            (CAP_16GI_KI, 12_912_056),
        ] {
            let a = allocatable_for(ReservationPolicy::K8s1_20To1_27, 2_000, cap_ki * KI, 64);
            assert_eq!(a.cpu_milli, 1_900, "{cap_ki}Ki");
            assert_eq!(a.memory_bytes, want_ki * KI, "{cap_ki}Ki");
        }
    }

    #[test]
    fn documented_table_of_examples() {
        // Reservation policy page, "Example default resource reservations": (cores, GiB, max pods
        // with Terway inclusive ENI) → 1.28+ (CPU m, memory MiB), 1.20–1.27 (CPU m, memory MiB).
        // The table uses nominal sizes.
        // (CPU millicores, memory MiB) reserved in total.
        type Totals = (i64, i64);
        let rows: [(i64, i64, u32, Totals, Totals); 8] = [
            (2, 4, 15, (70, 420), (100, 1024)),
            (4, 8, 48, (80, 783), (100, 1843)),
            (8, 16, 48, (90, 783), (200, 2662)),
            (16, 32, 213, (110, 2598), (400, 3645)),
            (32, 64, 213, (150, 2598), (800, 5611)),
            (64, 128, 213, (230, 2598), (1600, 9543)),
            (128, 256, 423, (390, 4908), (2400, 12164)),
            (256, 512, 453, (710, 5238), (3040, 17407)),
        ];
        for (cores, gib, pods, current, legacy) in rows {
            for (policy, (cpu, mib)) in [
                (ReservationPolicy::K8s1_28Plus, current),
                (ReservationPolicy::K8s1_20To1_27, legacy),
            ] {
                let r = reserved_for(policy, cores * 1_000, gib * GIB, pods);
                assert_eq!(r.total_cpu_milli(), cpu, "{policy:?} {cores}c/{gib}GiB");
                assert_eq!(
                    r.total_memory_bytes(),
                    mib * MIB,
                    "{policy:?} {cores}c/{gib}GiB"
                );
            }
        }
    }

    #[test]
    fn kubelet_capacity_rule() {
        // ⌊nominal Ki × 7925980 / 8388608⌋: exact halves and doubles of the example.
        assert_eq!(kubelet_memory_capacity_bytes(4 * GIB), CAP_4GI_KI * KI);
        assert_eq!(kubelet_memory_capacity_bytes(8 * GIB), CAP_8GI_KI * KI);
        assert_eq!(kubelet_memory_capacity_bytes(16 * GIB), CAP_16GI_KI * KI);
        assert_eq!(kubelet_memory_capacity_bytes(-1), 0);
        assert!(kubelet_memory_capacity_bytes(i64::MAX) > 0);
    }

    #[test]
    fn catalog_file_matches_the_capacity_rule() {
        // The node-pool catalog states kubelet_memory_capacity per pool; keep it on the rule.
        let text = include_str!("../../models/node-pools/ack-cn-shanghai.yaml");
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).expect("catalog parses");
        let pools = doc["pools"].as_sequence().expect("pools list");
        assert_eq!(pools.len(), 3);
        for pool in pools {
            let nominal = pool["memory"].as_str().expect("memory");
            let gib: i64 = nominal.trim_end_matches("Gi").parse().expect("GiB");
            let cap = pool["kubelet_memory_capacity"].as_str().expect("capacity");
            let ki: i64 = cap.trim_end_matches("Ki").parse().expect("Ki");
            assert_eq!(
                ki * KI,
                kubelet_memory_capacity_bytes(gib * GIB),
                "{nominal}"
            );
            assert_eq!(pool["max_pods"].as_u64(), Some(64));
        }
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        for policy in [
            ReservationPolicy::K8s1_20To1_27,
            ReservationPolicy::K8s1_28Plus,
        ] {
            for (cpu, mem, pods) in [
                (0, 0, 0),
                (-5, -5, 0),
                (50, MIB, 1),
                (i64::MAX, i64::MAX, u32::MAX),
                (i64::MIN, i64::MIN, u32::MAX),
            ] {
                let a = allocatable_for(policy, cpu, mem, pods);
                assert!(a.cpu_milli >= 0 && a.memory_bytes >= 0);
                assert!(a.cpu_milli <= cpu.max(0) && a.memory_bytes <= mem.max(0));
                let r = reserved_for(policy, cpu, mem, pods);
                assert!(r.total_cpu_milli() >= 0 && r.total_memory_bytes() >= 0);
            }
        }
        // Tiny node: everything is reserved, nothing allocatable.
        assert_eq!(allocatable(50, 200 * MIB, 8).memory_bytes, 0);
    }
}

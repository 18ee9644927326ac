//! The fleet's series on `/metrics` (docs/OPERATIONS.md): what this node decided at joins,
//! what it moved, and whether it holds its lease.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::Fleet;

/// Counted since the start.
#[derive(Default)]
pub struct Counters {
    /// Joins let in here.
    pub joins_local: AtomicU64,
    pub redirects: AtomicU64,
    /// Joins refused with `retCode_ServerCascadeFailure`.
    pub refused: AtomicU64,
    /// Placements written by this node (new rooms and moves at a join).
    pub placed: AtomicU64,
    /// Rooms of dead nodes re-placed by this node's sweeps.
    pub replaced: AtomicU64,
    /// Rooms whose users here were closed because the fleet moved the room.
    pub evicted: AtomicU64,
    /// Empty rooms handed back while draining.
    pub released: AtomicU64,
    /// Revisions of the shared configuration refused (invalid; the running one kept).
    pub config_refused: AtomicU64,
}

impl Counters {
    pub fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl Fleet {
    /// Appends the `conference_cluster_*` series.
    pub fn metrics(&self, out: &mut String) {
        let c = &self.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let (lease, homed, alive) = {
            let state = self.state.lock();
            let now = Instant::now();
            let homed = state
                .view
                .rooms
                .values()
                .filter(|p| p.placement.home == self.settings.node)
                .count();
            let alive = state
                .view
                .nodes
                .keys()
                .filter(|name| state.view.alive(name, now, self.settings.lease).is_some())
                .count();
            (
                state.lease_until.is_some_and(|until| until > now),
                homed,
                alive,
            )
        };
        let series: [(&str, &str, &str, String); 9] = [
            (
                "cluster_lease_held",
                "gauge",
                "1 while NATS holds this node's heartbeat.",
                format!(" {}", u8::from(lease)),
            ),
            (
                "cluster_draining",
                "gauge",
                "1 while this node takes no new rooms.",
                format!(" {}", u8::from(self.draining())),
            ),
            (
                "cluster_nodes_alive",
                "gauge",
                "Nodes whose heartbeat this node saw within the lease.",
                format!(" {alive}"),
            ),
            (
                "cluster_rooms_homed",
                "gauge",
                "Rooms placed on this node.",
                format!(" {homed}"),
            ),
            (
                "cluster_joins_total",
                "counter",
                "JoinRoom decisions of the fleet gate.",
                labelled(
                    "cluster_joins_total",
                    "outcome",
                    &[
                        ("local", load(&c.joins_local)),
                        ("redirect", load(&c.redirects)),
                        ("refused", load(&c.refused)),
                    ],
                ),
            ),
            (
                "cluster_placements_total",
                "counter",
                "Placements this node wrote: at a join, re-placing a dead node's rooms, releasing empty rooms while draining.",
                labelled(
                    "cluster_placements_total",
                    "why",
                    &[
                        ("join", load(&c.placed)),
                        ("dead_home", load(&c.replaced)),
                        ("released", load(&c.released)),
                    ],
                ),
            ),
            (
                "cluster_evictions_total",
                "counter",
                "Rooms whose users here were closed because the fleet moved the room.",
                format!(" {}", load(&c.evicted)),
            ),
            (
                "cluster_config_revision",
                "gauge",
                "KV revision of the shared accounts and rooms running here (0: from the file).",
                format!(" {}", load(&self.config_revision)),
            ),
            (
                "cluster_config_refused_total",
                "counter",
                "Revisions of the shared configuration refused as invalid (the running one kept).",
                format!(" {}", load(&c.config_refused)),
            ),
        ];
        for (name, kind, help, lines) in series {
            let _ = writeln!(out, "# HELP conference_{name} {help}");
            let _ = writeln!(out, "# TYPE conference_{name} {kind}");
            let _ = writeln!(out, "conference_{name}{lines}");
        }
    }
}

/// The samples of series `name` with one value each of `label`, as the caller's loop prints
/// them: the first after the name it writes, the others on lines of their own.
fn labelled(name: &str, label: &str, samples: &[(&str, u64)]) -> String {
    samples
        .iter()
        .map(|(value, n)| format!("{{{label}=\"{value}\"}} {n}"))
        .collect::<Vec<_>>()
        .join(&format!("\nconference_{name}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn labelled_samples_continue_the_series_line_by_line() {
        assert_eq!(
            super::labelled("x_total", "why", &[("a", 1), ("b", 2)]),
            "{why=\"a\"} 1\nconference_x_total{why=\"b\"} 2"
        );
    }
}

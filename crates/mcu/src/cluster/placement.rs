//! The fleet as one node sees it (kept current by KV watches) and the placement rule. No
//! I/O: the join path reads it without waiting on NATS.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::room::RoomId;

/// A node's heartbeat record (`<prefix>_nodes`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct NodeRecord {
    pub name: String,
    /// Its client port, as clients reach it.
    pub address: String,
    pub capacity: u32,
    /// Users in rooms.
    pub users: u32,
    /// Rooms with users.
    pub rooms: u32,
    pub connections: u32,
    pub egress_bytes_per_s: u64,
    /// Process CPU over the last heartbeat interval (100 = one core).
    pub cpu_percent: f32,
    /// Takes no new rooms; releases its rooms as they empty.
    pub draining: bool,
    /// Users per room with users: other nodes' room lists show them (one heartbeat old).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub room_users: BTreeMap<RoomId, u32>,
}

/// A room's home (`<prefix>_rooms`, key `room.<id>`). `epoch` grows with every move, so a
/// node that was away can tell that its copy of the room is stale.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub home: String,
    pub epoch: u64,
}

/// A placement with the KV revision that a compare-and-set must name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placed {
    pub placement: Placement,
    pub revision: u64,
}

pub struct Seen {
    pub record: NodeRecord,
    /// The record's KV revision: a new one is a new heartbeat.
    pub revision: u64,
    /// When this node first saw that revision.
    pub at: Instant,
}

#[derive(Default)]
pub struct View {
    pub nodes: HashMap<String, Seen>,
    pub rooms: HashMap<RoomId, Placed>,
}

impl View {
    /// A node's record read at `now` (watch or direct read): the heartbeat counts as seen
    /// then only if its revision is new, so rereading a record that stopped changing does
    /// not keep a dead node alive.
    pub fn heard(&mut self, record: NodeRecord, revision: u64, now: Instant) {
        let seen = self.nodes.entry(record.name.clone()).or_insert(Seen {
            record: record.clone(),
            revision: 0,
            at: now,
        });
        if revision > seen.revision {
            *seen = Seen {
                record,
                revision,
                at: now,
            };
        }
    }

    /// Takes a placement read from KV unless a newer one is known already.
    pub fn learn(&mut self, room: RoomId, placed: Placed) {
        if self
            .rooms
            .get(&room)
            .is_none_or(|known| known.revision <= placed.revision)
        {
            self.rooms.insert(room, placed);
        }
    }

    /// A release seen at `revision`.
    pub fn forget(&mut self, room: RoomId, revision: u64) {
        if self
            .rooms
            .get(&room)
            .is_some_and(|known| known.revision < revision)
        {
            self.rooms.remove(&room);
        }
    }

    /// A node whose heartbeat arrived within the lease: worth a redirect. (The authority
    /// on death is NATS itself, asked before anything is moved.)
    /// Users in the rooms homed on other live nodes, as their last heartbeats say (a room
    /// list shows them: the vendor's `m_s32CurUserCnt` counts the whole fleet's room).
    pub fn remote_users(&self, own: &str, now: Instant, lease: Duration) -> HashMap<RoomId, u32> {
        self.rooms
            .iter()
            .filter(|(_, placed)| placed.placement.home != own)
            .filter_map(|(room, placed)| {
                let home = self.alive(&placed.placement.home, now, lease)?;
                Some((*room, home.room_users.get(room).copied()?))
            })
            .collect()
    }

    pub fn alive(&self, name: &str, now: Instant, lease: Duration) -> Option<&NodeRecord> {
        self.nodes
            .get(name)
            .filter(|seen| now.saturating_duration_since(seen.at) < lease)
            .map(|seen| &seen.record)
    }

    /// Live nodes that take new rooms.
    pub fn serving(&self, now: Instant, lease: Duration) -> Vec<&NodeRecord> {
        let mut nodes: Vec<&NodeRecord> = self
            .nodes
            .values()
            .filter(|seen| now.saturating_duration_since(seen.at) < lease && !seen.record.draining)
            .map(|seen| &seen.record)
            .collect();
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
        nodes
    }

    /// Rooms placed per node (fresher than the records' room counts while many rooms are
    /// being placed at once).
    pub fn homes(&self) -> HashMap<&str, u32> {
        let mut homes = HashMap::new();
        for placed in self.rooms.values() {
            *homes.entry(placed.placement.home.as_str()).or_insert(0) += 1;
        }
        homes
    }
}

/// The less loaded of two distinct random candidates (the power of two choices: nearly
/// the balance of "least loaded of all" without every node piling onto the same one).
/// Load = users / capacity, then placed rooms. `random(n)` returns a number below `n`.
pub fn choose<'a>(
    candidates: &[&'a NodeRecord],
    homes: &HashMap<&str, u32>,
    mut random: impl FnMut(usize) -> usize,
) -> Option<&'a NodeRecord> {
    let n = candidates.len();
    if n < 2 {
        return candidates.first().copied();
    }
    let first = random(n);
    let mut second = random(n - 1);
    if second >= first {
        second += 1;
    }
    let load = |node: &NodeRecord| {
        (
            f64::from(node.users) / f64::from(node.capacity.max(1)),
            homes.get(node.name.as_str()).copied().unwrap_or(0),
        )
    };
    let (a, b) = (candidates[first], candidates[second]);
    Some(if load(b) < load(a) { b } else { a })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, users: u32, draining: bool) -> NodeRecord {
        NodeRecord {
            name: name.into(),
            address: format!("{name}:6870"),
            capacity: 100,
            users,
            rooms: 0,
            connections: 0,
            egress_bytes_per_s: 0,
            cpu_percent: 0.0,
            draining,
            room_users: BTreeMap::new(),
        }
    }

    #[test]
    fn the_less_loaded_of_the_two_picked_wins() {
        let (a, b, c) = (
            node("a", 50, false),
            node("b", 10, false),
            node("c", 90, false),
        );
        let all = [&a, &b, &c];
        let mut picks = [0, 0].into_iter();
        // Picks a, then b (index 0 of the two left: b): b has fewer users.
        let chosen = choose(&all, &HashMap::new(), |_| picks.next().unwrap());
        assert_eq!(chosen.unwrap().name, "b");
        let mut picks = [2, 0].into_iter();
        assert_eq!(
            choose(&all, &HashMap::new(), |_| picks.next().unwrap())
                .unwrap()
                .name,
            "a"
        );
        assert!(choose(&[], &HashMap::new(), |_| 0).is_none());
        assert_eq!(choose(&[&c], &HashMap::new(), |_| 0).unwrap().name, "c");
    }

    #[test]
    fn placed_rooms_break_ties() {
        let (a, b) = (node("a", 0, false), node("b", 0, false));
        let homes = HashMap::from([("a", 3), ("b", 1)]);
        let mut picks = [0, 0].into_iter();
        assert_eq!(
            choose(&[&a, &b], &homes, |_| picks.next().unwrap())
                .unwrap()
                .name,
            "b"
        );
    }

    #[test]
    fn draining_and_silent_nodes_take_no_rooms() {
        let now = Instant::now();
        let lease = Duration::from_secs(3);
        let mut view = View::default();
        for (record, age) in [
            (node("a", 0, false), 0),
            (node("b", 0, true), 0),
            (node("c", 0, false), 5),
        ] {
            view.heard(record, 1, now - Duration::from_secs(age));
        }
        let serving: Vec<_> = view
            .serving(now, lease)
            .iter()
            .map(|n| n.name.clone())
            .collect();
        assert_eq!(serving, ["a"]);
        assert!(view.alive("b", now, lease).is_some());
        assert!(view.alive("c", now, lease).is_none());
    }
}

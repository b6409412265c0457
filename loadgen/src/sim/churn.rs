//! Churn: how many of each event an epoch brings, drawn from the scenario's
//! rates with a seeded random stream, and capped by the commit policy.

use rand::Rng;
use rand_distr::{Distribution, Poisson};

use crate::scenario::Churn;

/// The events of one epoch of one group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Members added by the epoch's commit (Welcome).
    pub welcome_joins: u32,
    /// Members joining by external commit after the epoch's commit.
    pub external_joins: u32,
    /// Members proposing their own removal.
    pub self_removes: u32,
    /// Members the DS proposes to remove.
    pub server_removes: u32,
    /// Members the committer removes in its commit.
    pub host_removes: u32,
    /// Members proposing an Update.
    pub updates: u32,
    /// Application messages.
    pub application_messages: u32,
}

impl Plan {
    /// Proposals (and Adds) the epoch's commit carries.
    pub fn proposals(&self) -> u32 {
        self.welcome_joins + self.self_removes + self.server_removes + self.host_removes + self.updates
    }
}

fn poisson(rng: &mut impl Rng, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    // `mean` is checked positive and finite when the scenario loads.
    Poisson::new(mean).map_or(0, |d| d.sample(rng) as u32)
}

/// Draws the next epoch's events; `backlog` holds events an earlier
/// epoch could not fit. Events beyond `max_proposals` stay in the
/// backlog; the number postponed is returned with the plan.
pub fn next_plan(churn: &Churn, rng: &mut impl Rng, backlog: &mut Plan, max_proposals: u32) -> (Plan, u32) {
    let mut want = Plan {
        welcome_joins: backlog.welcome_joins + poisson(rng, churn.welcome_joins),
        external_joins: backlog.external_joins + poisson(rng, churn.external_joins),
        self_removes: backlog.self_removes + poisson(rng, churn.self_removes),
        server_removes: backlog.server_removes + poisson(rng, churn.server_removes),
        host_removes: backlog.host_removes + poisson(rng, churn.host_removes),
        updates: backlog.updates + poisson(rng, churn.updates),
        application_messages: poisson(rng, churn.application_messages),
    };
    // Fill the commit round-robin over the proposal kinds, so that a burst
    // of one kind does not starve the others.
    let mut room = max_proposals;
    let mut take = Plan {
        external_joins: want.external_joins,
        application_messages: want.application_messages,
        ..Plan::default()
    };
    want.external_joins = 0;
    want.application_messages = 0;
    while room > 0 && want.proposals() > 0 {
        for (w, t) in [
            (&mut want.server_removes, &mut take.server_removes),
            (&mut want.self_removes, &mut take.self_removes),
            (&mut want.host_removes, &mut take.host_removes),
            (&mut want.welcome_joins, &mut take.welcome_joins),
            (&mut want.updates, &mut take.updates),
        ] {
            if room > 0 && *w > 0 {
                *w -= 1;
                *t += 1;
                room -= 1;
            }
        }
    }
    let postponed = want.proposals();
    *backlog = want;
    (take, postponed)
}

/// Soak mode: keeps a group's size in a band around its target, so that
/// membership stays bounded however long the run. The scenario's rates need
/// not balance (the default's joins, 1.3 per round, outrun its leaves, 1.2):
/// when an epoch's joins minus leaves would take the group above
/// `target + band`, joins are skipped (Welcome and external in turn) until
/// it would not; below `target - band`, leaves are skipped the same way.
/// Skipped events are dropped, not postponed, and counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Balance {
    /// Members per group (the scenario's `groups.members`).
    pub target: u32,
    /// Allowed distance from the target.
    pub band: u32,
}

impl Balance {
    /// A band of ±2% of `target` (at least ±2 members).
    pub fn around(target: u32) -> Self {
        Self { target, band: (target / 50).max(2) }
    }

    /// Trims `plan` for a group of `members`; returns the joins and leaves
    /// skipped.
    pub fn apply(&self, members: u32, plan: &mut Plan) -> (u32, u32) {
        let hi = i64::from(self.target) + i64::from(self.band);
        let lo = (i64::from(self.target) - i64::from(self.band)).max(2);
        let joins = i64::from(plan.welcome_joins) + i64::from(plan.external_joins);
        let leaves = i64::from(plan.self_removes) + i64::from(plan.server_removes) + i64::from(plan.host_removes);
        let projected = i64::from(members) + joins - leaves;
        let (mut joins_skipped, mut leaves_skipped) = (0, 0);
        if projected > hi {
            let mut excess = projected - hi;
            while excess > 0 && plan.welcome_joins + plan.external_joins > 0 {
                for n in [&mut plan.welcome_joins, &mut plan.external_joins] {
                    if excess > 0 && *n > 0 {
                        *n -= 1;
                        excess -= 1;
                        joins_skipped += 1;
                    }
                }
            }
        } else if projected < lo {
            let mut deficit = lo - projected;
            while deficit > 0 && plan.self_removes + plan.server_removes + plan.host_removes > 0 {
                for n in [&mut plan.server_removes, &mut plan.self_removes, &mut plan.host_removes] {
                    if deficit > 0 && *n > 0 {
                        *n -= 1;
                        deficit -= 1;
                        leaves_skipped += 1;
                    }
                }
            }
        }
        (joins_skipped, leaves_skipped)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn caps_and_carries_over() {
        let churn = Churn { welcome_joins: 50.0, updates: 50.0, ..Churn::default() };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut backlog = Plan::default();
        let (plan, postponed) = next_plan(&churn, &mut rng, &mut backlog, 10);
        assert_eq!(plan.proposals(), 10);
        assert_eq!(plan.welcome_joins, 5);
        assert_eq!(postponed, backlog.proposals());
        assert!(postponed > 50);
    }

    #[test]
    fn balance_keeps_the_band() {
        let b = Balance::around(500);
        assert_eq!(b.band, 10);
        // Inside the band: untouched.
        let mut p = Plan { welcome_joins: 3, external_joins: 1, self_removes: 1, ..Plan::default() };
        assert_eq!(b.apply(505, &mut p), (0, 0));
        assert_eq!(p.welcome_joins + p.external_joins, 4);
        // Above: joins trimmed down to the upper edge, both kinds in turn.
        let mut p = Plan { welcome_joins: 3, external_joins: 2, self_removes: 1, ..Plan::default() };
        assert_eq!(b.apply(508, &mut p), (2, 0));
        assert_eq!((p.welcome_joins, p.external_joins), (2, 1));
        assert_eq!(508 + p.welcome_joins + p.external_joins - p.self_removes, 510);
        // Below: leaves trimmed.
        let mut p = Plan { welcome_joins: 0, self_removes: 2, server_removes: 2, ..Plan::default() };
        assert_eq!(b.apply(491, &mut p), (0, 3));
        assert_eq!(p.self_removes + p.server_removes, 1);
        // Tiny groups never go below 2.
        let b = Balance::around(3);
        let mut p = Plan { self_removes: 5, ..Plan::default() };
        b.apply(3, &mut p);
        assert_eq!(p.self_removes, 1);
    }

    #[test]
    fn same_seed_same_plans() {
        let churn = Churn { welcome_joins: 1.5, self_removes: 0.7, application_messages: 3.0, ..Churn::default() };
        let run = || {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
            let mut backlog = Plan::default();
            (0..50).map(|_| next_plan(&churn, &mut rng, &mut backlog, 4).0).collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }
}

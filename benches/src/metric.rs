//! What the comparison measures: each metric's name, unit, the scenario that
//! produces it and what it depends on.

use serde::{Deserialize, Serialize};

/// One measured quantity: a median time (`median_ms`) or a size (`bytes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Metric {
    /// Create a group and add N-1 members in one commit.
    Build,
    /// `build` with the ratchet tree in the Welcome's GroupInfo
    /// (§12.4.3.3) rather than out of band.
    BuildTreeInWelcome,
    /// A new member processes the Welcome with the ratchet tree.
    Join,
    /// Self-update commit (create + merge) on the warmed tree.
    Commit,
    /// Another member processes `commit`.
    Process,
    /// Commit adding one member, on the warmed tree.
    AddOne,
    /// Another member processes `add_one`.
    ProcessAdd,
    /// Commit removing one member, on the warmed tree.
    RemoveOne,
    /// Another member processes `remove_one`.
    ProcessRemove,
    /// `commit` on the freshly built tree.
    CommitCold,
    /// `process` on the freshly built tree.
    ProcessCold,
    /// `add_one` on the freshly built tree.
    AddOneCold,
    /// `process_add` on the freshly built tree.
    ProcessAddCold,
    /// `remove_one` on the freshly built tree.
    RemoveOneCold,
    /// `process_remove` on the freshly built tree.
    ProcessRemoveCold,
    /// A delivery service validates and applies `commit` from its public
    /// view of the group (no member's secrets).
    ServerProcess,
    /// `server_process` of `commit_cold`, on the freshly built tree.
    ServerProcessCold,
    /// A delivery service validates and applies the commit of `build`.
    ServerBuild,
    /// Encoded Welcome of `build` (without the ratchet tree).
    WelcomeBytes,
    /// Encoded commit of `commit`.
    CommitBytes,
    /// Encoded commit of `commit_cold`.
    CommitBytesCold,
    /// Encoded ratchet tree of the N-member group.
    TreeBytes,
    /// Heap bytes a member's state holds after `join`.
    StateBytes,
    /// Partial MLS (throng only): a server that followed the group makes
    /// the AnnotatedCommits of `commit` for every member but ten.
    AnnotateCommit,
    /// `annotate_commit` divided by its number of recipients.
    AnnotateCommitPerMember,
    /// Partial MLS (throng only): C joins as a partial member from an
    /// AnnotatedWelcome (the Welcome of `build` with A's and C's proofs).
    JoinPartial,
    /// Heap bytes a partial member's state holds after `join_partial`.
    StateBytesPartial,
    /// Partial MLS (throng only): C, a partial member, processes the
    /// AnnotatedCommit of `commit` made for it.
    ProcessPartial,
}

/// Whether a metric is a time or a size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Milliseconds, median over runs.
    Millis,
    /// Bytes, median over runs.
    Bytes,
}

/// The scenario a metric comes from; each runs in its own worker process
/// (see [`crate::harness`]) with its own, untimed setup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Scenario {
    /// Build the group, then one member joins.
    Join,
    /// Operations on the freshly built tree.
    Cold,
    /// Operations on the warmed tree.
    Warm,
}

impl Scenario {
    /// Every scenario, in the order the harness runs them.
    pub const ALL: [Scenario; 3] = [Scenario::Join, Scenario::Cold, Scenario::Warm];

    /// The name on the command line (`--worker cold`) and in progress lines.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Join => "join",
            Scenario::Cold => "cold",
            Scenario::Warm => "warm",
        }
    }
}

impl Metric {
    /// Every metric, in the order of the report.
    pub const ALL: [Metric; 28] = [
        Metric::Build,
        Metric::BuildTreeInWelcome,
        Metric::Join,
        Metric::Commit,
        Metric::Process,
        Metric::AddOne,
        Metric::ProcessAdd,
        Metric::RemoveOne,
        Metric::ProcessRemove,
        Metric::CommitCold,
        Metric::ProcessCold,
        Metric::AddOneCold,
        Metric::ProcessAddCold,
        Metric::RemoveOneCold,
        Metric::ProcessRemoveCold,
        Metric::ServerProcess,
        Metric::ServerProcessCold,
        Metric::ServerBuild,
        Metric::WelcomeBytes,
        Metric::CommitBytes,
        Metric::CommitBytesCold,
        Metric::TreeBytes,
        Metric::StateBytes,
        Metric::AnnotateCommit,
        Metric::AnnotateCommitPerMember,
        Metric::JoinPartial,
        Metric::StateBytesPartial,
        Metric::ProcessPartial,
    ];

    /// The name in the output (`"process_add_cold"`).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Build => "build",
            Metric::BuildTreeInWelcome => "build_tree_in_welcome",
            Metric::Join => "join",
            Metric::Commit => "commit",
            Metric::Process => "process",
            Metric::AddOne => "add_one",
            Metric::ProcessAdd => "process_add",
            Metric::RemoveOne => "remove_one",
            Metric::ProcessRemove => "process_remove",
            Metric::CommitCold => "commit_cold",
            Metric::ProcessCold => "process_cold",
            Metric::AddOneCold => "add_one_cold",
            Metric::ProcessAddCold => "process_add_cold",
            Metric::RemoveOneCold => "remove_one_cold",
            Metric::ProcessRemoveCold => "process_remove_cold",
            Metric::ServerProcess => "server_process",
            Metric::ServerProcessCold => "server_process_cold",
            Metric::ServerBuild => "server_build",
            Metric::WelcomeBytes => "welcome_bytes",
            Metric::CommitBytes => "commit_bytes",
            Metric::CommitBytesCold => "commit_bytes_cold",
            Metric::TreeBytes => "tree_bytes",
            Metric::StateBytes => "state_bytes",
            Metric::AnnotateCommit => "annotate_commit",
            Metric::AnnotateCommitPerMember => "annotate_commit_per_member",
            Metric::JoinPartial => "join_partial",
            Metric::StateBytesPartial => "state_bytes_partial",
            Metric::ProcessPartial => "process_partial",
        }
    }

    /// Time or size.
    pub fn unit(self) -> Unit {
        match self {
            Metric::WelcomeBytes
            | Metric::CommitBytes
            | Metric::CommitBytesCold
            | Metric::TreeBytes
            | Metric::StateBytes
            | Metric::StateBytesPartial => Unit::Bytes,
            _ => Unit::Millis,
        }
    }

    /// The scenario that measures this metric.
    pub fn scenario(self) -> Scenario {
        match self {
            Metric::Build
            | Metric::BuildTreeInWelcome
            | Metric::Join
            | Metric::ServerBuild
            | Metric::WelcomeBytes
            | Metric::TreeBytes
            | Metric::StateBytes
            | Metric::JoinPartial
            | Metric::StateBytesPartial => Scenario::Join,
            Metric::CommitCold
            | Metric::ProcessCold
            | Metric::AddOneCold
            | Metric::ProcessAddCold
            | Metric::RemoveOneCold
            | Metric::ProcessRemoveCold
            | Metric::ServerProcessCold
            | Metric::CommitBytesCold => Scenario::Cold,
            Metric::Commit
            | Metric::Process
            | Metric::AddOne
            | Metric::ProcessAdd
            | Metric::RemoveOne
            | Metric::ProcessRemove
            | Metric::CommitBytes
            | Metric::ServerProcess
            | Metric::AnnotateCommit
            | Metric::AnnotateCommitPerMember
            | Metric::ProcessPartial => Scenario::Warm,
        }
    }

    /// The operation whose output this metric needs within its scenario:
    /// when that operation fails or times out, this metric cannot be had.
    /// (Every scenario builds the group; when `build` itself runs past the
    /// cap, the others get it built untimed, under the setup cap.)
    pub fn depends_on(self) -> Option<Metric> {
        match self {
            Metric::StateBytes => Some(Metric::Join),
            Metric::Process | Metric::ServerProcess | Metric::CommitBytes | Metric::AnnotateCommit => {
                Some(Metric::Commit)
            }
            Metric::AnnotateCommitPerMember => Some(Metric::AnnotateCommit),
            Metric::JoinPartial => Some(Metric::Join),
            Metric::StateBytesPartial => Some(Metric::JoinPartial),
            Metric::ProcessPartial => Some(Metric::AnnotateCommit),
            Metric::ProcessAdd => Some(Metric::AddOne),
            Metric::ProcessRemove => Some(Metric::RemoveOne),
            Metric::ProcessCold | Metric::ServerProcessCold | Metric::CommitBytesCold => Some(Metric::CommitCold),
            Metric::ProcessAddCold => Some(Metric::AddOneCold),
            Metric::ProcessRemoveCold => Some(Metric::RemoveOneCold),
            _ => None,
        }
    }

    /// Whether only throng measures this metric: Partial MLS annotations,
    /// which the other implementations do not make.
    pub fn throng_only(self) -> bool {
        matches!(
            self,
            Metric::AnnotateCommit
                | Metric::AnnotateCommitPerMember
                | Metric::JoinPartial
                | Metric::StateBytesPartial
                | Metric::ProcessPartial
        )
    }

    /// Whether the crypto floor models this throng-only metric (the
    /// primitives a partial member's checks require); annotations have
    /// none (cached hashes only).
    pub fn partial_floor(self) -> bool {
        matches!(self, Metric::JoinPartial | Metric::ProcessPartial)
    }

    /// Whether this metric needs `other` (directly or transitively).
    pub fn needs(self, other: Metric) -> bool {
        let mut next = self.depends_on();
        while let Some(m) = next {
            if m == other {
                return true;
            }
            next = m.depends_on();
        }
        false
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn names_match_serde_and_clap() {
        use clap::ValueEnum;
        for m in Metric::ALL {
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{}\"", m.name()));
            let pv = m.to_possible_value().unwrap();
            assert_eq!(pv.get_name(), m.name());
        }
    }

    #[test]
    fn dependencies_stay_within_a_scenario() {
        for m in Metric::ALL {
            if let Some(d) = m.depends_on() {
                assert_eq!(d.scenario(), m.scenario(), "{m}");
            }
        }
    }
}

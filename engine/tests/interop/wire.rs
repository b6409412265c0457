//! A look at the bytes on the wire, to check what the adapters configured.

use throng::internals::codec::Decode;
use throng::messages::content::{FramedContentBody, MlsMessage, MlsMessageBody};
use throng::messages::{Commit, ExtensionType, Proposal, ProposalOrRef};

pub const PUBLIC_MESSAGE: u16 = 1;
pub const PRIVATE_MESSAGE: u16 = 2;

/// `MLSMessage.wire_format` (RFC 9420 §6): the two bytes after the version.
pub fn format(message: &[u8]) -> u16 {
    u16::from_be_bytes([message[2], message[3]])
}

/// Whether a GroupInfo carries the `ratchet_tree` extension.
pub fn group_info_has_tree(message: &[u8]) -> bool {
    match MlsMessage::from_bytes(message).unwrap().body {
        MlsMessageBody::GroupInfo(info) => {
            info.extensions.iter().any(|e| e.extension_type == ExtensionType::RATCHET_TREE)
        }
        _ => panic!("not a GroupInfo"),
    }
}

fn commit(message: &[u8]) -> Commit {
    match MlsMessage::from_bytes(message).unwrap().body {
        MlsMessageBody::PublicMessage(m) => match m.content.body {
            FramedContentBody::Commit(commit) => commit,
            _ => panic!("not a commit"),
        },
        _ => panic!("not a PublicMessage"),
    }
}

/// Whether a commit sent as a PublicMessage carries an UpdatePath.
pub fn commit_has_path(message: &[u8]) -> bool {
    commit(message).path.is_some()
}

/// How many Remove proposals a commit sent as a PublicMessage carries by
/// value.
pub fn commit_removes(message: &[u8]) -> usize {
    by_value(message, |p| matches!(p, Proposal::Remove(_)))
}

/// How many PreSharedKey proposals a commit sent as a PublicMessage
/// carries by value.
pub fn commit_psks(message: &[u8]) -> usize {
    by_value(message, |p| matches!(p, Proposal::PreSharedKey(_)))
}

fn by_value(message: &[u8], f: impl Fn(&Proposal) -> bool) -> usize {
    commit(message).proposals.iter().filter(|p| matches!(p, ProposalOrRef::Proposal(p) if f(p))).count()
}

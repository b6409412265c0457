//! One function per target: run the API on an input and check the
//! invariants that do not need the harness (the harness adds panics, time
//! and memory). `Ok(outcome)` is a typed rejection or an explained accept;
//! `Err(violation)` is a broken invariant: an unexplained accept, a state
//! change after a rejection, an internal error on peer input, a genuine
//! message that no longer processes after a rejection, a wrapped epoch.
//!
//! The fuzz crate (fuzz/) calls the same functions and turns a violation
//! into a crash.

use std::sync::Arc;

use throng::crypto::{CryptoProvider, Suite};
use throng::internals::codec::{Decode, Encode};
use throng::internals::group::{Group, PskStore, validate_key_package};
use throng::internals::tree::{LeafNodeRules, RatchetTree};
use throng::messages::content::{MlsMessage, MlsMessageBody};
use throng::messages::{GroupInfo, Lifetime, RatchetTreeExtension};
use throng::state::StateKind;
use throng::{Error, PublicGroup, PublicGroupConfig, Registry, Rejected};

use crate::fixtures::{Fixture, Genuine, provider};
use crate::mutators::Expect;

/// What a target did with an input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Refused, with the error's kind (`Invalid::Proposal::RemoveOfBlankLeaf`).
    Rejected(String),
    /// Accepted, and why that is right.
    Accepted(String),
}

/// An outcome, or the invariant the input broke.
pub type Checked = Result<Outcome, String>;

/// The variant path of an error's `Debug` form, without its fields.
pub fn error_kind(debug: &str) -> String {
    let mut parts = Vec::new();
    for token in debug.split('(') {
        let ident: String = token.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if ident.is_empty() || ident.starts_with(|c: char| c.is_ascii_digit()) {
            break;
        }
        let whole = ident.len() == token.len();
        parts.push(ident);
        if !whole {
            break;
        }
    }
    if parts.is_empty() { "?".into() } else { parts.join("::") }
}

fn rejected(e: &Error) -> Result<Outcome, String> {
    if matches!(e, Error::Internal(_)) {
        return Err(format!("internal error on peer input: {e}"));
    }
    Ok(Outcome::Rejected(error_kind(&format!("{e:?}"))))
}

/// Why an accepted input is fine: it is (or decodes to) the genuine input,
/// or its mutator allows it.
fn explain<T: Decode + PartialEq>(input: &[u8], genuine: &[u8], expect: Expect, what: &str) -> Checked {
    if input == genuine {
        return Ok(Outcome::Accepted("genuine input".into()));
    }
    if let (Ok(a), Ok(b)) = (T::from_bytes(input), T::from_bytes(genuine)) {
        if a == b {
            return Ok(Outcome::Accepted("decodes to the genuine input".into()));
        }
    }
    match expect {
        Expect::MayAccept(why) => Ok(Outcome::Accepted(why.into())),
        Expect::Reject => Err(format!("accepted a mutant that must be rejected ({what})")),
    }
}

/// Decoding an MLSMessage: a typed error, or a value that re-encodes to
/// exactly the input (the encoding is canonical, §2.1.2).
pub fn decode(input: &[u8]) -> Checked {
    match MlsMessage::from_bytes(input) {
        Err(e) => Ok(Outcome::Rejected(format!("Malformed::{}", error_kind(&format!("{e:?}"))))),
        Ok(m) if m.to_bytes() == input => Ok(Outcome::Accepted("decodes canonically".into())),
        Ok(_) => Err("decoded, but re-encodes to other bytes (non-canonical decode)".into()),
    }
}

/// What must not change when a member refuses a message: its public
/// state (context, tree, transcript, cached proposals), its epoch
/// authenticator and whether it is active.
fn fingerprint(g: &Group) -> Option<(Vec<u8>, Vec<u8>, bool)> {
    Some((g.public().export().ok()?.to_vec(), g.epoch_authenticator().to_vec(), g.is_active()))
}

/// A member processes `input` in `g.receiver`'s state (a copy).
///
/// After a rejection the member's exported state must be byte-identical,
/// except that a PrivateMessage that decrypted and then failed consumes
/// its key (documented, §9.2): with `ratchet_may_advance`, only the
/// secret tree may differ. With `check_next`, the genuine message must
/// then still process.
pub fn process_message(
    g: &Genuine,
    input: &[u8],
    expect: Expect,
    ratchet_may_advance: bool,
    check_next: bool,
) -> Checked {
    let mut receiver = g.receiver.clone();
    let message = match MlsMessage::from_bytes(input) {
        Ok(m) => m,
        Err(e) => return rejected(&e.into()),
    };
    let before = receiver.export().map_err(|e| format!("export before: {e}"))?;
    let before_fp = fingerprint(&receiver);
    match receiver.process_message(message) {
        Err(e) => {
            let outcome = rejected(&e)?;
            let after = receiver.export().map_err(|e| format!("export after a rejection failed: {e}"))?;
            if *after != *before && !(ratchet_may_advance && fingerprint(&receiver) == before_fp) {
                return Err(format!("state changed after a rejection ({e})"));
            }
            if check_next {
                let genuine = MlsMessage::from_bytes(&g.bytes).map_err(|e| format!("genuine: {e}"))?;
                if let Err(e2) = receiver.process_message(genuine) {
                    return Err(format!("the genuine message no longer processes after a rejection ({e}): {e2}"));
                }
            }
            Ok(outcome)
        }
        Ok(processed) => {
            let outcome = explain::<MlsMessage>(input, &g.bytes, expect, "process_message")?;
            if let throng::Processed::Commit(staged) = processed {
                let next = staged.new_epoch();
                receiver.merge_staged_commit(*staged).map_err(|e| format!("a staged commit failed to merge: {e}"))?;
                if next.is_some_and(|n| receiver.is_active() && receiver.epoch() != n) {
                    return Err("merged epoch differs from the staged one".into());
                }
            }
            Ok(outcome)
        }
    }
}

/// A registry following the fixture's group at the genuine message's
/// epoch (with the membership key, and the message's prerequisites
/// handled), for [`registry_handle`].
pub struct ServerFixture {
    /// The registry.
    pub registry: Registry,
    group_id: Vec<u8>,
}

impl ServerFixture {
    /// A fresh registry for `g`.
    pub fn new(fx: &Fixture, g: &Genuine) -> Result<Self, String> {
        let registry = Registry::new(provider());
        let info = match MlsMessage::from_bytes(&fx.group_info).map(|m| m.body) {
            Ok(MlsMessageBody::GroupInfo(i)) => i,
            _ => return Err("fixture GroupInfo".into()),
        };
        registry.create_group(&info, None).map_err(|e| format!("create_group: {e}"))?;
        let group_id = info.group_context.group_id.clone();
        registry
            .set_membership_key(&group_id, info.group_context.epoch, fx.membership_key.clone())
            .map_err(|e| format!("membership key: {e}"))?;
        for pre in &g.prerequisites {
            let m = MlsMessage::from_bytes(pre).map_err(|e| e.to_string())?;
            registry.handle(&group_id, &m).map_err(|e| format!("prerequisite: {e}"))?;
        }
        Ok(Self { registry, group_id })
    }

    fn state(&self) -> Option<Vec<u8>> {
        self.registry.with_group(&self.group_id, |g| g.export().ok().map(|s| s.to_vec())).flatten()
    }
}

/// `Registry::handle` on `input` for the fixture's group. After a
/// rejection the group's exported state must be unchanged and (with
/// `check_next`) the genuine message must still be accepted. Returns
/// whether the registry changed (an accept): the caller then needs a fresh
/// [`ServerFixture`].
pub fn registry_handle(
    server: &ServerFixture,
    g: &Genuine,
    input: &[u8],
    expect: Expect,
    check_next: bool,
) -> (Checked, bool) {
    let message = match MlsMessage::from_bytes(input) {
        Ok(m) => m,
        Err(e) => return (rejected(&e.into()), false),
    };
    let before = server.state();
    match server.registry.handle(&server.group_id, &message) {
        Err(rejection) => {
            let outcome = match &rejection {
                Rejected::Invalid(e) => rejected(e),
                other => Ok(Outcome::Rejected(format!("Rejected::{}", error_kind(&format!("{other:?}"))))),
            };
            if server.state() != before {
                return (Err(format!("registry state changed after a rejection ({rejection})")), false);
            }
            if check_next {
                let genuine = MlsMessage::from_bytes(&g.bytes).ok();
                let ok = genuine.map(|m| server.registry.handle(&server.group_id, &m));
                match ok {
                    Some(Ok(_)) => return (outcome, true),
                    Some(Err(e)) => {
                        return (
                            Err(format!("the genuine message is refused after a rejection ({rejection}): {e}")),
                            true,
                        );
                    }
                    None => return (Err("genuine message does not decode".into()), false),
                }
            }
            (outcome, false)
        }
        Ok(accepted) => {
            if accepted.kind == throng::AcceptedKind::Application {
                return (Ok(Outcome::Accepted("a server routes application data unread".into())), true);
            }
            if input != g.bytes.as_slice() && only_confirmation_tag_differs(input, &g.bytes) {
                let why = "only the confirmation tag differs, which a server cannot verify (no membership tag covers an external commit's)";
                return (Ok(Outcome::Accepted(why.into())), true);
            }
            (explain::<MlsMessage>(input, &g.bytes, expect, "Registry::handle"), true)
        }
    }
}

/// Whether two PublicMessages differ in nothing but the confirmation tag.
fn only_confirmation_tag_differs(a: &[u8], b: &[u8]) -> bool {
    match (MlsMessage::from_bytes(a).map(|m| m.body), MlsMessage::from_bytes(b).map(|m| m.body)) {
        (Ok(MlsMessageBody::PublicMessage(x)), Ok(MlsMessageBody::PublicMessage(y))) => {
            x.content == y.content && x.auth.signature == y.auth.signature && x.membership_tag == y.membership_tag
        }
        _ => false,
    }
}

fn group_info_of(input: &[u8]) -> Result<GroupInfo, Outcome> {
    match MlsMessage::from_bytes(input) {
        Err(e) => Err(Outcome::Rejected(format!("Malformed::{}", error_kind(&format!("{e:?}"))))),
        Ok(MlsMessage { body: MlsMessageBody::GroupInfo(info), .. }) => Ok(info),
        Ok(_) => Err(Outcome::Rejected("not a GroupInfo".into())),
    }
}

/// Joining from a Welcome (and, if given, an out-of-band ratchet tree)
/// with the fixture's joiner bundle.
pub fn join_welcome(fx: &Fixture, welcome: &[u8], tree: Option<&[u8]>, expect: Expect) -> Checked {
    let message = match MlsMessage::from_bytes(welcome) {
        Ok(m) => m,
        Err(e) => return rejected(&e.into()),
    };
    let MlsMessageBody::Welcome(w) = &message.body else { return Ok(Outcome::Rejected("not a Welcome".into())) };
    let tree = match tree.map(RatchetTreeExtension::from_bytes).transpose() {
        Ok(t) => t,
        Err(e) => return rejected(&e.into()),
    };
    match Group::join(provider(), fx.config.clone(), w, &fx.joiner, tree.as_ref(), PskStore::default()) {
        Err(e) => rejected(&e),
        Ok(_) if tree.is_some() => match expect {
            Expect::MayAccept(why) => Ok(Outcome::Accepted(why.into())),
            Expect::Reject => Err("joined with a mutated ratchet tree".into()),
        },
        Ok(_) => explain::<MlsMessage>(welcome, &fx.welcome, expect, "join"),
    }
}

/// An external join from a GroupInfo (an MLSMessage): an accept must leave
/// the joiner in the epoch after the GroupInfo's, without wrapping.
pub fn join_external(fx: &Fixture, input: &[u8], expect: Expect) -> Checked {
    let info = match group_info_of(input) {
        Ok(i) => i,
        Err(o) => return Ok(o),
    };
    match Group::join_by_external_commit(provider(), fx.config.clone(), &fx.key_package_owner, &info, None) {
        Err(e) => rejected(&e),
        Ok((g, _commit)) => {
            if info.group_context.epoch.checked_add(1) != Some(g.epoch()) {
                return Err(format!(
                    "external join from epoch {} entered epoch {}",
                    info.group_context.epoch,
                    g.epoch()
                ));
            }
            explain::<MlsMessage>(input, &fx.group_info, expect, "external join")
        }
    }
}

/// `Registry::create_group` from a GroupInfo (an MLSMessage) on a fresh
/// registry.
pub fn registry_create_group(fx: &Fixture, input: &[u8], expect: Expect) -> Checked {
    let info = match group_info_of(input) {
        Ok(i) => i,
        Err(o) => return Ok(o),
    };
    let registry = Registry::new(provider());
    match registry.create_group(&info, None) {
        Err(e) => rejected(&e),
        Ok(()) => {
            if registry.epoch(&info.group_context.group_id) != Some(info.group_context.epoch) {
                return Err("the registered group is not in the GroupInfo's epoch".into());
            }
            explain::<MlsMessage>(input, &fx.group_info, expect, "create_group")
        }
    }
}

fn suite_of(fx: &Fixture, provider: &Arc<dyn CryptoProvider>) -> Result<Suite<'static>, String> {
    let _ = provider;
    Suite::new(throng::default_provider(), fx.cipher_suite).map_err(|e| e.to_string())
}

/// Importing a ratchet tree (a `RatchetTreeExtension`) and validating it in
/// full for the fixture's group (§12.4.3.1 without the GroupInfo).
pub fn tree_import(fx: &Fixture, input: &[u8], expect: Expect) -> Checked {
    let p = provider();
    let suite = suite_of(fx, &p)?;
    let ext = match RatchetTreeExtension::from_bytes(input) {
        Ok(t) => t,
        Err(e) => return rejected(&e.into()),
    };
    let tree = match RatchetTree::import(&suite, &ext) {
        Ok(t) => t,
        Err(e) => return rejected(&e),
    };
    let rules = LeafNodeRules {
        cipher_suite: fx.cipher_suite,
        required_capabilities: None,
        now: Some(Lifetime::now()),
        limits: Default::default(),
    };
    match tree.validate(&suite, &fx.context().group_id, &rules) {
        Err(e) => rejected(&e),
        Ok(()) => explain::<RatchetTreeExtension>(input, &fx.tree, expect, "tree validation"),
    }
}

/// Validating a KeyPackage (an MLSMessage) for the fixture's suite
/// (§10.1).
pub fn key_package(fx: &Fixture, input: &[u8], expect: Expect) -> Checked {
    let p = provider();
    let suite = suite_of(fx, &p)?;
    let kp = match MlsMessage::from_bytes(input) {
        Err(e) => return rejected(&e.into()),
        Ok(MlsMessage { body: MlsMessageBody::KeyPackage(kp), .. }) => kp,
        Ok(_) => return Ok(Outcome::Rejected("not a KeyPackage".into())),
    };
    let rules = LeafNodeRules {
        cipher_suite: fx.cipher_suite,
        required_capabilities: None,
        now: Some(Lifetime::now()),
        limits: Default::default(),
    };
    match validate_key_package(&suite, &kp, &rules) {
        Err(e) => rejected(&e),
        Ok(()) => explain::<MlsMessage>(input, &fx.key_package, expect, "KeyPackage validation"),
    }
}

/// Importing exported state: a member's or, by its kind byte, a server's.
pub fn state_import(fx: &Fixture, input: &[u8], expect: Expect) -> Checked {
    let public = input.get(6) == Some(&(StateKind::Public as u8));
    let (result, genuine) = if public {
        (PublicGroup::import(input, provider(), PublicGroupConfig::default()).map(|_| ()), &fx.public_state)
    } else {
        (Group::import(input, provider(), fx.config.clone()).map(|_| ()), &fx.member_state)
    };
    match result {
        Err(e) => rejected(&e),
        Ok(()) if input == genuine.as_slice() => Ok(Outcome::Accepted("genuine input".into())),
        Ok(()) => match expect {
            Expect::MayAccept(why) => Ok(Outcome::Accepted(why.into())),
            Expect::Reject => Err("imported damaged state".into()),
        },
    }
}

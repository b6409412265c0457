//! Authenticating credentials (RFC 9420 §5.3.1): the application's hook.
//!
//! MLS checks that each member holds the signature key of its leaf; whether
//! the credential next to that key names someone the application accepts is
//! the application's decision. §5.3.1 requires it at every place a
//! credential is encountered, and the engine asks an [`IdentityValidator`]
//! (given in [`GroupConfig::identity`](crate::GroupConfig::identity) and
//! [`PublicGroupConfig::identity`](crate::PublicGroupConfig::identity)) at
//! each of them, members and servers alike, through the shared staging code
//! of `public_group`:
//!
//! | [`ValidationPoint`] | what | where |
//! |---|---|---|
//! | `AddKeyPackage` | the leaf of an Add's KeyPackage, when the proposal arrives and when a commit (received or made) applies it | §12.1.1 |
//! | `Update` | an Update's new leaf, and the valid-successor check if its credential changed | §12.1.2 |
//! | `CommitPath` | a commit's new leaf for its committer, and the valid-successor check if its credential changed | §12.4.2 |
//! | `TreeLeaf` | every leaf of a tree joined by Welcome or external commit, or followed by a server; run in the parallel leaf validation, after each leaf's signature | §12.4.3.1 |
//! | `ExternalJoiner` | the new member's leaf in an external commit, and, when the commit removes a leaf (a resync), that [`IdentityValidator::identity`] names the same identity for both (`CredentialError::ResyncIdentityMismatch` otherwise) and the valid-successor check against the removed leaf's credential | §12.2, §12.4.3.2 |
//! | `ExternalSender` | every entry of the GroupContext's `external_senders`, on join and when a GroupContextExtensions proposal sets them | §12.1.8.1 |
//!
//! A refusal is [`Error::Invalid`](crate::Error::Invalid) with
//! [`CredentialError`](crate::error::CredentialError), naming the point, and
//! like every rejected message it changes nothing: the checks run while a
//! commit is staged, before anything is merged.
//!
//! Built in: [`AcceptAnyCredential`] (the default: every credential, of any
//! type, is accepted, which is what a group without an identity policy did
//! before the hook existed), [`AcceptAnyBasic`] (every basic credential,
//! nothing else) and [`BasicAllowList`] (basic credentials whose identity is
//! on a list the application can change at run time). An X.509 validator
//! implements the same trait: the chain is in
//! [`Credential::X509`](crate::messages::Credential::X509), and its
//! [`IdentityValidator::identity`] returns the identity the certificate
//! names (a subject alternative name), so that a renewed certificate is a
//! valid successor of the old one.

use std::collections::HashSet;
use std::fmt;
use std::sync::{PoisonError, RwLock};

mod x509;

pub use x509::{X509Error, X509Validator};

use crate::codec::Encode;
use crate::crypto::CipherSuite;
use crate::error::{CredentialError, Error};
use crate::messages::{Credential, LeafNode};
use crate::tree_math::LeafIndex;

/// Where a credential is being validated (RFC 9420 §5.3.1); see the module
/// documentation for when each is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValidationPoint {
    /// The leaf of a KeyPackage in an Add proposal (§12.1.1).
    AddKeyPackage,
    /// The new leaf of an Update proposal (§12.1.2).
    Update,
    /// The committer's new leaf in a commit's UpdatePath (§12.4.2).
    CommitPath,
    /// A leaf of a ratchet tree being joined or followed (§12.4.3.1).
    TreeLeaf,
    /// The new member's leaf in an external commit (§12.4.3.2).
    ExternalJoiner,
    /// An entry of the GroupContext's `external_senders` (§12.1.8.1).
    ExternalSender,
}

impl fmt::Display for ValidationPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::AddKeyPackage => "an Add's KeyPackage",
            Self::Update => "an Update's leaf",
            Self::CommitPath => "a commit's path leaf",
            Self::TreeLeaf => "a leaf of the joined tree",
            Self::ExternalJoiner => "an external commit's new member",
            Self::ExternalSender => "an external sender",
        })
    }
}

/// Everything a validator is told about one credential.
#[derive(Clone, Copy, Debug)]
pub struct CredentialCheck<'a> {
    /// Where it was encountered.
    pub point: ValidationPoint,
    /// The group's id.
    pub group_id: &'a [u8],
    /// The epoch the message is processed in (for a joined tree, the epoch
    /// joined).
    pub epoch: u64,
    /// The group's cipher suite: which signature scheme the key is of.
    pub cipher_suite: CipherSuite,
    /// The credential.
    pub credential: &'a Credential,
    /// The signature key the credential must vouch for: the leaf's (whose
    /// signature the engine has verified, except for an external sender,
    /// which has no leaf), or the external sender's.
    pub signature_key: &'a [u8],
    /// The leaf it is for, when known: the leaf of an Update, of a
    /// committer, of a joined tree's member, the leaf an external joiner
    /// takes. `None` for an Add (its leaf is chosen when the commit is
    /// applied) and an external sender.
    pub leaf_index: Option<LeafIndex>,
    /// Seconds since the Unix epoch, read once per operation.
    pub now: u64,
}

/// A validator's refusal, in its own words (carried to the caller in
/// [`CredentialError`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CredentialRejected(pub String);

impl CredentialRejected {
    /// A refusal with this reason.
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

/// The application's authentication of credentials (RFC 9420 §5.3.1).
///
/// Called once per credential encountered, possibly from several threads
/// at once (a joined tree's leaves are checked in parallel), so it must be
/// cheap and must not block on the group it validates for.
pub trait IdentityValidator: Send + Sync + fmt::Debug {
    /// Accepts or refuses `check.credential` for `check.signature_key` at
    /// `check.point`.
    fn validate(&self, check: &CredentialCheck<'_>) -> Result<(), CredentialRejected>;

    /// The stable identity a credential names: what stays the same when a
    /// member renews its credential (roster lookups, the valid-successor
    /// check).
    fn identity(&self, credential: &Credential) -> Result<Vec<u8>, CredentialRejected>;

    /// Whether `new` may replace `old` at a leaf (§5.3.1: an Update or a
    /// commit path that changes the credential, or an external commit that
    /// replaces the joiner's old leaf). Called only when the credentials
    /// differ. By default: both name the same identity.
    fn valid_successor(&self, old: &Credential, new: &Credential) -> Result<(), CredentialRejected> {
        if self.identity(old)? == self.identity(new)? {
            Ok(())
        } else {
            Err(CredentialRejected::new("the new credential names another identity"))
        }
    }
}

/// The identity of a credential when no validator says otherwise: a basic
/// credential's identity, an X.509 chain's end-entity certificate (DER), or
/// an unregistered type's whole encoding.
fn raw_identity(credential: &Credential) -> Vec<u8> {
    match credential {
        Credential::Basic { identity } => identity.to_vec(),
        Credential::X509 { certificates } => certificates.first().map(|c| c.cert_data.clone()).unwrap_or_default(),
        Credential::Other { .. } => credential.to_bytes(),
    }
}

/// Accepts every credential, of every type: no authentication beyond the
/// signature keys MLS checks itself. The default, so that choosing no
/// policy is visible in the configuration. Identities are as in
/// [`AcceptAnyBasic`] for basic credentials, the end-entity certificate for
/// X.509 chains (so a renewed certificate is not a successor: use a real
/// X.509 validator), and the whole encoding otherwise.
#[derive(Clone, Copy, Debug, Default)]
pub struct AcceptAnyCredential;

impl IdentityValidator for AcceptAnyCredential {
    fn validate(&self, _: &CredentialCheck<'_>) -> Result<(), CredentialRejected> {
        Ok(())
    }

    fn identity(&self, credential: &Credential) -> Result<Vec<u8>, CredentialRejected> {
        Ok(raw_identity(credential))
    }
}

/// Accepts every basic credential and refuses every other type. The
/// identity is the basic credential's `identity` bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct AcceptAnyBasic;

fn basic_identity(credential: &Credential) -> Result<&[u8], CredentialRejected> {
    match credential {
        Credential::Basic { identity } => Ok(identity),
        _ => Err(CredentialRejected::new(format!("credential type {} is not basic", credential.credential_type().0))),
    }
}

impl IdentityValidator for AcceptAnyBasic {
    fn validate(&self, check: &CredentialCheck<'_>) -> Result<(), CredentialRejected> {
        basic_identity(check.credential).map(|_| ())
    }

    fn identity(&self, credential: &Credential) -> Result<Vec<u8>, CredentialRejected> {
        basic_identity(credential).map(<[u8]>::to_vec)
    }
}

/// Accepts basic credentials whose identity is on a list, and nothing
/// else. The list can change while groups use it (share the validator
/// through its `Arc`): a removed identity is refused from then on, in every
/// group, for new Adds, Updates, commits and joins (members already in a
/// group stay until removed).
#[derive(Debug, Default)]
pub struct BasicAllowList {
    allowed: RwLock<HashSet<Vec<u8>>>,
}

impl BasicAllowList {
    /// A list of these identities.
    pub fn new<I: Into<Vec<u8>>>(identities: impl IntoIterator<Item = I>) -> Self {
        Self { allowed: RwLock::new(identities.into_iter().map(Into::into).collect()) }
    }

    /// Allows `identity`.
    pub fn allow(&self, identity: impl Into<Vec<u8>>) {
        self.allowed.write().unwrap_or_else(PoisonError::into_inner).insert(identity.into());
    }

    /// Stops allowing `identity`; returns whether it was allowed.
    pub fn revoke(&self, identity: &[u8]) -> bool {
        self.allowed.write().unwrap_or_else(PoisonError::into_inner).remove(identity)
    }

    /// Whether `identity` is allowed.
    pub fn is_allowed(&self, identity: &[u8]) -> bool {
        // A panic elsewhere cannot leave a set half-written: use it as is.
        self.allowed.read().unwrap_or_else(PoisonError::into_inner).contains(identity)
    }
}

impl IdentityValidator for BasicAllowList {
    fn validate(&self, check: &CredentialCheck<'_>) -> Result<(), CredentialRejected> {
        let identity = basic_identity(check.credential)?;
        if self.is_allowed(identity) {
            Ok(())
        } else {
            Err(CredentialRejected::new(format!("identity {} is not allowed", String::from_utf8_lossy(identity))))
        }
    }

    fn identity(&self, credential: &Credential) -> Result<Vec<u8>, CredentialRejected> {
        basic_identity(credential).map(<[u8]>::to_vec)
    }
}

/// The validator and what every check of one operation shares: the group,
/// the epoch and the time.
#[derive(Clone, Copy)]
pub(crate) struct IdentityScope<'a> {
    pub(crate) validator: &'a dyn IdentityValidator,
    pub(crate) group_id: &'a [u8],
    pub(crate) epoch: u64,
    pub(crate) cipher_suite: CipherSuite,
    pub(crate) now: u64,
}

impl IdentityScope<'_> {
    /// Asks the validator about one credential.
    pub(crate) fn check(
        &self,
        point: ValidationPoint,
        credential: &Credential,
        signature_key: &[u8],
        leaf_index: Option<LeafIndex>,
    ) -> Result<(), Error> {
        let check = CredentialCheck {
            point,
            group_id: self.group_id,
            epoch: self.epoch,
            cipher_suite: self.cipher_suite,
            credential,
            signature_key,
            leaf_index,
            now: self.now,
        };
        self.validator
            .validate(&check)
            .map_err(|r| CredentialError::Refused { point, leaf: leaf_index.map(|l| l.0), reason: r.0 }.into())
    }

    /// Asks the validator about a leaf's credential.
    pub(crate) fn check_leaf(
        &self,
        point: ValidationPoint,
        leaf: &LeafNode,
        leaf_index: Option<LeafIndex>,
    ) -> Result<(), Error> {
        self.check(point, &leaf.credential, leaf.signature_key(), leaf_index)
    }

    /// Whether `new` may replace `old` at `leaf` (asked only when they
    /// differ).
    pub(crate) fn check_successor(
        &self,
        point: ValidationPoint,
        leaf: LeafIndex,
        old: &Credential,
        new: &Credential,
    ) -> Result<(), Error> {
        if old == new {
            return Ok(());
        }
        self.validator
            .valid_successor(old, new)
            .map_err(|r| CredentialError::NotSuccessor { point, leaf: leaf.0, reason: r.0 }.into())
    }
}

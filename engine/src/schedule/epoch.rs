//! The epoch key schedule of RFC 9420 §8 (Figure 22, Table 4), the exporter
//! (§8.5) and the Welcome key and nonce (§12.4.3.1).

use crate::Result;
use crate::crypto::{HpkeKeyPair, HpkePublicKey, Secret, Suite};

use super::psk::PskSecret;

/// `init_secret`: what one epoch hands to the key schedule of the next
/// (RFC 9420 §8, Figure 22).
///
/// It comes from [`EpochSecrets::init_secret`] of the previous epoch, from
/// the HPKE export of an external join (§8.3), or from the vectors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitSecret(pub(super) Secret);

impl InitSecret {
    /// Wraps secret bytes as an init_secret.
    pub fn new(secret: Secret) -> Self {
        Self(secret)
    }

    /// The secret bytes.
    pub fn as_secret(&self) -> &Secret {
        &self.0
    }
}

/// `commit_secret`: the root path secret a Commit's UpdatePath carries
/// (RFC 9420 §7.4), or all zeros for a Commit without a path (§12.4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitSecret(Secret);

impl CommitSecret {
    /// Wraps the commit secret derived from an UpdatePath.
    pub fn new(secret: Secret) -> Self {
        Self(secret)
    }

    /// The all-zero `KDF.Nh` vector: the commit_secret of a Commit whose
    /// path field is empty (RFC 9420 §12.4.1, §12.4.2).
    pub fn zero(suite: &Suite<'_>) -> Self {
        Self(Secret::zero(suite.hash_len()))
    }

    /// The secret bytes.
    pub fn as_secret(&self) -> &Secret {
        &self.0
    }
}

/// `joiner_secret` (RFC 9420 §8): the first secret a new member shares with
/// the group, sent to it in `GroupSecrets` (§12.4.3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinerSecret(Secret);

impl JoinerSecret {
    /// `ExpandWithLabel(KDF.Extract(init_secret, commit_secret), "joiner",
    /// GroupContext_[n], KDF.Nh)` (RFC 9420 §8, Figure 22): the path of a
    /// member who creates or processes a Commit.
    ///
    /// `group_context` is the encoded GroupContext of the *new* epoch
    /// (§8.1). The init secret is borrowed, not consumed, so that a Commit
    /// that later fails validation leaves the group's state untouched; the
    /// caller deletes the old epoch (§9.2) when it merges the new one.
    pub fn derive(
        suite: &Suite<'_>,
        init_secret: &InitSecret,
        commit_secret: &CommitSecret,
        group_context: &[u8],
    ) -> Result<Self> {
        // KDF.Extract takes its salt from the top of Figure 22 (init_secret)
        // and its IKM from the left (commit_secret).
        let extracted = suite.extract(init_secret.0.as_bytes(), commit_secret.0.as_bytes());
        Ok(Self(suite.expand_with_label(extracted.as_bytes(), "joiner", group_context, suite.nh())?))
    }

    /// A joiner_secret received in `GroupSecrets` (RFC 9420 §12.4.3.1): the
    /// path of a member joining from a Welcome.
    pub fn new(secret: Secret) -> Self {
        Self(secret)
    }

    /// The secret bytes, to put in `GroupSecrets` for new members.
    pub fn as_secret(&self) -> &Secret {
        &self.0
    }

    /// Mixes in the PSKs: `KDF.Extract(joiner_secret, psk_secret)`
    /// (RFC 9420 §8, Figure 22). Borrows `self` because a committer still
    /// needs the joiner_secret for the Welcome afterwards.
    pub fn with_psk(&self, suite: &Suite<'_>, psk_secret: &PskSecret) -> IntermediateSecret {
        IntermediateSecret(suite.extract(self.0.as_bytes(), psk_secret.as_secret().as_bytes()))
    }
}

/// The unnamed value of Figure 22 (RFC 9420 §8) below the PSK extract:
/// `KDF.Extract(joiner_secret, psk_secret)`. Both the welcome_secret and the
/// epoch_secret come from it.
///
/// A joiner needs the welcome_secret to decrypt the GroupInfo before it
/// knows the GroupContext that the epoch_secret binds to, so this is a
/// state of its own.
#[derive(Debug)]
pub struct IntermediateSecret(Secret);

impl IntermediateSecret {
    /// `DeriveSecret(., "welcome")` (RFC 9420 §8).
    pub fn welcome_secret(&self, suite: &Suite<'_>) -> Result<WelcomeSecret> {
        Ok(WelcomeSecret(suite.derive_secret(self.0.as_bytes(), "welcome")?))
    }

    /// `epoch_secret = ExpandWithLabel(., "epoch", GroupContext_[n], KDF.Nh)`
    /// and every secret derived from it (RFC 9420 §8). Consumes `self`:
    /// neither this value nor the epoch_secret outlive the derivation.
    pub fn into_epoch(self, suite: &Suite<'_>, group_context: &[u8]) -> Result<EpochSecrets> {
        let epoch_secret = suite.expand_with_label(self.0.as_bytes(), "epoch", group_context, suite.nh())?;
        EpochSecrets::from_epoch_secret(suite, epoch_secret)
    }
}

/// `welcome_secret` (RFC 9420 §8): keys the encrypted GroupInfo of a Welcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WelcomeSecret(Secret);

impl WelcomeSecret {
    /// The secret bytes.
    pub fn as_secret(&self) -> &Secret {
        &self.0
    }

    /// `(welcome_key, welcome_nonce)`: `ExpandWithLabel(welcome_secret,
    /// "key", "", AEAD.Nk)` and `ExpandWithLabel(welcome_secret, "nonce",
    /// "", AEAD.Nn)` (RFC 9420 §12.4.3.1).
    pub fn key_and_nonce(&self, suite: &Suite<'_>) -> Result<(Secret, Secret)> {
        let aead = suite.algorithms().aead;
        // AEAD key and nonce lengths are at most 32 bytes.
        let key = suite.expand_with_label(self.0.as_bytes(), "key", &[], aead.key_len() as u16)?;
        let nonce = suite.expand_with_label(self.0.as_bytes(), "nonce", &[], aead.nonce_len() as u16)?;
        Ok((key, nonce))
    }
}

/// The secrets of one epoch (RFC 9420 §8, Table 4) and the init_secret of
/// the next. The epoch_secret itself is not kept: everything an epoch needs
/// is derived from it at once and it is zeroized (§9.2).
#[derive(Clone, Debug)]
pub struct EpochSecrets {
    sender_data_secret: Secret,
    /// `None` once handed to the secret tree (§9.2: delete once consumed).
    encryption_secret: Option<Secret>,
    exporter_secret: Secret,
    external_secret: Secret,
    confirmation_key: Secret,
    membership_key: Secret,
    resumption_psk: Secret,
    epoch_authenticator: Secret,
    init_secret: InitSecret,
}

impl EpochSecrets {
    /// Derives every secret of Table 4 and the next init_secret from an
    /// epoch_secret (RFC 9420 §8). Used directly by the creator of a group,
    /// whose first epoch_secret is random (§11); every other path goes
    /// through [`IntermediateSecret::into_epoch`].
    pub fn from_epoch_secret(suite: &Suite<'_>, epoch_secret: Secret) -> Result<Self> {
        let derive = |label: &str| suite.derive_secret(epoch_secret.as_bytes(), label);
        Ok(Self {
            sender_data_secret: derive("sender data")?,
            encryption_secret: Some(derive("encryption")?),
            exporter_secret: derive("exporter")?,
            external_secret: derive("external")?,
            confirmation_key: derive("confirm")?,
            membership_key: derive("membership")?,
            resumption_psk: derive("resumption")?,
            epoch_authenticator: derive("authentication")?,
            init_secret: InitSecret(derive("init")?),
        })
    }

    /// An epoch restored from the secrets a partial member's saved state
    /// lists (draft-ietf-mls-partial's vectors): the others are empty and
    /// unusable until the next commit derives a full epoch.
    pub(crate) fn from_saved_parts(
        sender_data_secret: Secret,
        encryption_secret: Secret,
        membership_key: Secret,
        init_secret: InitSecret,
    ) -> Self {
        let empty = || Secret::from_slice(&[]);
        Self {
            sender_data_secret,
            encryption_secret: Some(encryption_secret),
            exporter_secret: empty(),
            external_secret: empty(),
            confirmation_key: empty(),
            membership_key,
            resumption_psk: empty(),
            epoch_authenticator: empty(),
            init_secret,
        }
    }

    /// The first epoch of a new group: a fresh random epoch_secret of
    /// `KDF.Nh` bytes (RFC 9420 §11).
    pub fn for_new_group(suite: &Suite<'_>) -> Result<Self> {
        Self::from_epoch_secret(suite, suite.random_secret(suite.hash_len())?)
    }

    /// `sender_data_secret`: keys the sender data of PrivateMessages (§6.3.2).
    pub fn sender_data_secret(&self) -> &Secret {
        &self.sender_data_secret
    }

    /// `encryption_secret`: the root of the secret tree (§9), unless it was
    /// already taken with [`take_encryption_secret`](Self::take_encryption_secret).
    pub fn encryption_secret(&self) -> Option<&Secret> {
        self.encryption_secret.as_ref()
    }

    /// Hands the encryption_secret to the secret tree and forgets it here:
    /// once the tree derives from it, it is consumed and must be deleted
    /// (RFC 9420 §9.2). `None` if it was already taken.
    pub fn take_encryption_secret(&mut self) -> Option<Secret> {
        self.encryption_secret.take()
    }

    /// `exporter_secret` (§8.5).
    pub fn exporter_secret(&self) -> &Secret {
        &self.exporter_secret
    }

    /// `external_secret`: seeds the group's external key pair (§8).
    pub fn external_secret(&self) -> &Secret {
        &self.external_secret
    }

    /// `confirmation_key`: MACs the confirmed transcript hash (§6.1, §8.2).
    pub fn confirmation_key(&self) -> &Secret {
        &self.confirmation_key
    }

    /// `membership_key`: MACs PublicMessages sent by members (§6.2).
    pub fn membership_key(&self) -> &Secret {
        &self.membership_key
    }

    /// `resumption_psk`: this epoch's resumption PSK (§8.6).
    pub fn resumption_psk(&self) -> &Secret {
        &self.resumption_psk
    }

    /// `epoch_authenticator` (§8.7).
    pub fn epoch_authenticator(&self) -> &Secret {
        &self.epoch_authenticator
    }

    /// `init_secret` for the next epoch (§8).
    pub fn init_secret(&self) -> &InitSecret {
        &self.init_secret
    }

    /// `external_priv, external_pub = KEM.DeriveKeyPair(external_secret)`
    /// (RFC 9420 §8). Derived on demand rather than kept: only external
    /// joins (the private half) and GroupInfo (the public half) use it.
    pub fn external_key_pair(&self, suite: &Suite<'_>) -> Result<HpkeKeyPair> {
        Ok(suite.derive_key_pair(self.external_secret.as_bytes())?)
    }

    /// `external_pub`, for the GroupInfo's `external_pub` extension (§12.4.3.2).
    pub fn external_pub(&self, suite: &Suite<'_>) -> Result<HpkePublicKey> {
        Ok(self.external_key_pair(suite)?.public)
    }

    /// `MLS-Exporter(label, context, length)` (RFC 9420 §8.5).
    pub fn export(&self, suite: &Suite<'_>, label: &[u8], context: &[u8], length: u16) -> Result<Secret> {
        mls_exporter(suite, &self.exporter_secret, label, context, length)
    }
}

/// `MLS-Exporter(Label, Context, Length) = ExpandWithLabel(DeriveSecret(
/// exporter_secret, Label), "exported", Hash(Context), Length)` (RFC 9420
/// §8.5). The label is bytes: applications choose it and it need not be
/// text. Fails if `length` exceeds what the KDF can expand (255 · Nh).
pub fn mls_exporter(
    suite: &Suite<'_>,
    exporter_secret: &Secret,
    label: &[u8],
    context: &[u8],
    length: u16,
) -> Result<Secret> {
    // DeriveSecret(exporter_secret, Label), with a label that may not be UTF-8.
    let derived = suite.expand_with_label_bytes(exporter_secret.as_bytes(), label, &[], suite.nh())?;
    Ok(suite.expand_with_label(derived.as_bytes(), "exported", &suite.hash(context), length)?)
}

/// What one pass through Figure 22 gives a member who creates or processes a
/// Commit (RFC 9420 §8): the joiner_secret and welcome_secret for any
/// Welcome, and the new epoch's secrets.
#[derive(Debug)]
pub struct EpochDerivation {
    /// For the `GroupSecrets` of new members (§12.4.3.1).
    pub joiner_secret: JoinerSecret,
    /// Keys the Welcome's encrypted GroupInfo (§12.4.3.1).
    pub welcome_secret: WelcomeSecret,
    /// The new epoch.
    pub epoch_secrets: EpochSecrets,
}

/// The whole key schedule of RFC 9420 §8 for a member: from the previous
/// epoch's init_secret, the commit_secret, the psk_secret and the encoded
/// GroupContext of the new epoch to every secret of the new epoch.
pub fn derive_epoch(
    suite: &Suite<'_>,
    init_secret: &InitSecret,
    commit_secret: &CommitSecret,
    psk_secret: &PskSecret,
    group_context: &[u8],
) -> Result<EpochDerivation> {
    let joiner_secret = JoinerSecret::derive(suite, init_secret, commit_secret, group_context)?;
    let intermediate = joiner_secret.with_psk(suite, psk_secret);
    let welcome_secret = intermediate.welcome_secret(suite)?;
    let epoch_secrets = intermediate.into_epoch(suite, group_context)?;
    Ok(EpochDerivation { joiner_secret, welcome_secret, epoch_secrets })
}

/// Persistence of the epoch's secrets for [`crate::state`]: every secret of
/// Table 4 that is still held and the next init_secret, in field order.
/// The epoch_secret itself was never kept, so it is not written either.
impl EpochSecrets {
    /// Appends the secrets to exported state (secret bytes: the caller's
    /// buffer must be zeroized, see [`crate::state`]).
    pub(crate) fn encode_state(&self, out: &mut Vec<u8>) {
        use crate::codec::Encode;
        self.sender_data_secret.encode(out);
        self.encryption_secret.encode(out);
        self.exporter_secret.encode(out);
        self.external_secret.encode(out);
        self.confirmation_key.encode(out);
        self.membership_key.encode(out);
        self.resumption_psk.encode(out);
        self.epoch_authenticator.encode(out);
        self.init_secret.0.encode(out);
    }

    /// Upper bound of the bytes [`encode_state`](Self::encode_state)
    /// writes, so the exporter can reserve its buffer before any secret is
    /// written (a reallocation would leave a copy behind).
    pub(crate) fn state_len_bound(&self) -> usize {
        // Nine secrets of at most 64 bytes, a varint length each, and the
        // presence octet of the encryption secret.
        9 * (4 + self.sender_data_secret.len().max(64)) + 1
    }

    /// Reads what [`encode_state`](Self::encode_state) wrote; every secret
    /// must be `KDF.Nh` bytes of `suite`.
    pub(crate) fn decode_state(
        suite: &Suite<'_>,
        r: &mut crate::codec::Reader<'_>,
    ) -> Result<Self, crate::error::StateError> {
        use crate::codec::{Decode, DecodeError};
        use crate::error::StateError;
        let sender_data_secret = read_nh(suite, r)?;
        let encryption_secret = match u8::decode(r).map_err(StateError::Corrupt)? {
            0 => None,
            1 => Some(read_nh(suite, r)?),
            v => {
                return Err(StateError::Corrupt(DecodeError::InvalidValue {
                    field: "optional presence",
                    value: u64::from(v),
                }));
            }
        };
        let mut read = || read_nh(suite, r);
        Ok(Self {
            sender_data_secret,
            encryption_secret,
            exporter_secret: read()?,
            external_secret: read()?,
            confirmation_key: read()?,
            membership_key: read()?,
            resumption_psk: read()?,
            epoch_authenticator: read()?,
            init_secret: InitSecret(read()?),
        })
    }
}

/// One `KDF.Nh`-byte secret of exported state.
fn read_nh(suite: &Suite<'_>, r: &mut crate::codec::Reader<'_>) -> Result<Secret, crate::error::StateError> {
    use crate::codec::Decode;
    use crate::error::StateError;
    let s = Secret::decode(r).map_err(StateError::Corrupt)?;
    if s.len() != suite.hash_len() {
        return Err(StateError::Inconsistent("an epoch secret is not KDF.Nh bytes"));
    }
    Ok(s)
}

//! External initialization (RFC 9420 §8.3): a non-member starts a new epoch
//! by exporting an init_secret from an HPKE context with the group's
//! external_pub.

use crate::Result;
use crate::crypto::{HpkePrivateKey, Suite};

use super::epoch::InitSecret;

/// The HPKE exporter context of RFC 9420 §8.3, used verbatim (it already
/// carries the "MLS 1.0 " prefix; it is not an ExpandWithLabel label).
const EXTERNAL_INIT_LABEL: &[u8] = b"MLS 1.0 external init secret";

impl InitSecret {
    /// The external joiner's side: `kem_output, context =
    /// SetupBaseS(external_pub, "")`, `init_secret =
    /// context.export("MLS 1.0 external init secret", KDF.Nh)` (RFC 9420
    /// §8.3). Returns the kem_output for the ExternalInit proposal and the
    /// init_secret for the new epoch.
    pub fn for_external_join(suite: &Suite<'_>, external_pub: &[u8]) -> Result<(Vec<u8>, Self)> {
        let (kem_output, secret) =
            suite.hpke_setup_sender_and_export(external_pub, &[], EXTERNAL_INIT_LABEL, suite.hash_len())?;
        Ok((kem_output, Self(secret)))
    }

    /// The members' side: `context = SetupBaseR(kem_output, external_priv,
    /// "")`, `init_secret = context.export("MLS 1.0 external init secret",
    /// KDF.Nh)` (RFC 9420 §8.3). `kem_output` comes from a peer's
    /// ExternalInit proposal; a bad one fails opaquely.
    pub fn from_external_init(suite: &Suite<'_>, external_priv: &HpkePrivateKey, kem_output: &[u8]) -> Result<Self> {
        let secret = suite.hpke_setup_receiver_and_export(
            external_priv,
            kem_output,
            &[],
            EXTERNAL_INIT_LABEL,
            suite.hash_len(),
        )?;
        Ok(Self(secret))
    }
}

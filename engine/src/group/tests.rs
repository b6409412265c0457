//! Tests of a member's state machine that need its internals.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use super::*;
use crate::crypto::AwsLcProvider;
use crate::public_group::{PublicProcessed, StagedPublicCommit};

/// With the epoch's membership key, a tampered membership tag is caught
/// (§6.2); without it, only the tag's presence can be checked. The key
/// is dropped when the epoch changes.
#[test]
fn membership_tag_is_checked_when_the_key_is_configured() {
    let provider: Arc<dyn CryptoProvider> = Arc::new(AwsLcProvider);
    let cs = CipherSuite(1);
    let id = Identity::basic(&*provider, cs, "alice").unwrap();
    let mut alice = Group::create(cs, &id, b"m".to_vec(), vec![], GroupConfig::default()).unwrap();
    let info = alice.group_info(true, false).unwrap();
    let mut public = PublicGroup::from_group_info(provider.clone(), PublicGroupConfig::default(), &info, None).unwrap();

    let pending = alice.commit(CommitOptions::default()).unwrap();
    let mut tampered = pending.message.clone();
    if let MlsMessageBody::PublicMessage(m) = &mut tampered.body {
        if let Some(tag) = &mut m.membership_tag {
            tag[0] ^= 1;
        }
    }
    // Without the key the tampered tag goes unnoticed.
    assert!(public.process_message(tampered.clone()).is_ok());
    public.set_membership_key(alice.epoch.membership_key().clone());
    assert_eq!(
        public.process_message(tampered).unwrap_err(),
        Error::Crypto(crate::crypto::CryptoError::VerificationFailed)
    );
    let PublicProcessed::Commit(staged) = public.process_message(pending.message.clone()).unwrap() else {
        panic!("not a commit")
    };
    public.merge_staged_commit(*staged).unwrap();
    alice.merge_pending_commit(pending).unwrap();
    assert!(public.membership_key.is_none(), "a key belongs to one epoch");
    assert_eq!(public.context(), alice.context());
}

#[test]
fn public_group_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<PublicGroup>();
    check::<StagedPublicCommit>();
}

/// Class 5 of issue 12: `epoch + 1` on an epoch of 2^64 - 1 wrapped to 0
/// in release builds. Every commit passes `apply_proposals`, which now
/// refuses an epoch that cannot advance: made, received or staged.
#[test]
fn an_epoch_at_the_maximum_cannot_advance() {
    let provider: Arc<dyn CryptoProvider> = Arc::new(AwsLcProvider);
    let cs = CipherSuite(1);
    let id = Identity::basic(&*provider, cs, "alice").unwrap();
    let mut alice = Group::create(cs, &id, b"m".to_vec(), vec![], GroupConfig::default()).unwrap();
    alice.public.context.epoch = u64::MAX;
    let refused = alice.commit(CommitOptions::default());
    assert!(matches!(
        refused,
        Err(Error::Limit(crate::limits::LimitExceeded { limit: crate::limits::Limit::Counter, .. }))
    ));
    assert_eq!(alice.epoch(), u64::MAX);
}

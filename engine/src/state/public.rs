//! A server's [`PublicGroup`] as exported state (format: the parent
//! module): the public part, then the membership key the application may
//! have given the server.

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::codec::{Encode, Reader};
use crate::crypto::{CryptoProvider, Secret, Suite};
use crate::error::{Error, StateError};
use crate::public_group::{PublicGroup, PublicGroupConfig};

use super::member::{PublicPart, decode_public_part, encode_public_part};
use super::{HEADER_LEN, StateKind, open, read, seal, write_header};

impl PublicGroup {
    /// Exports this server view as versioned bytes (format: [`crate::state`]).
    /// It holds no private key, but the membership key, when set, lets its
    /// holder forge membership tags (§6.2): store the bytes encrypted at
    /// rest like a member's. Linear in the tree, written from its arrays.
    pub fn export(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        let suite = self.suite()?;
        // The membership key is the only secret: reserve for it and the
        // digest up front, so that it is never left behind by a reallocation.
        let secret_bound = 5 + self.membership_key.as_ref().map_or(0, Secret::len) + suite.hash_len();
        let mut out = Vec::with_capacity(HEADER_LEN + 1024 + self.tree.state_len_hint() + secret_bound);
        write_header(&mut out, StateKind::Public, &suite);
        encode_public_part(&mut out, self);
        out.reserve_exact(secret_bound);
        let mut out = Zeroizing::new(out);
        let capacity = out.capacity();
        self.membership_key.encode(&mut out);
        seal(&mut out, &suite);
        debug_assert_eq!(out.capacity(), capacity, "the membership key outgrew its reservation");
        Ok(out)
    }

    /// Imports state written by [`PublicGroup::export`], with the provider
    /// and configuration to run it with. Bytes of another format version,
    /// another kind (a member's state) or damaged bytes are a
    /// [`StateError`]; nothing here panics on any input.
    pub fn import(bytes: &[u8], provider: Arc<dyn CryptoProvider>, config: PublicGroupConfig) -> Result<Self, Error> {
        let pool = config.clone();
        pool.on_pool(|| {
            let (suite, mut r) = open(bytes, StateKind::Public, &*provider)?;
            let (part, membership_key) = decode_public(&suite, &mut r)?;
            let mut group = part.into_group(provider.clone(), config);
            group.membership_key = membership_key;
            Ok(group)
        })
    }
}

fn decode_public(suite: &Suite<'_>, r: &mut Reader<'_>) -> Result<(PublicPart, Option<Secret>), StateError> {
    let part = decode_public_part(suite, r)?;
    let membership_key: Option<Secret> = read(r)?;
    if membership_key.as_ref().is_some_and(|k| k.len() != suite.hash_len()) {
        return Err(StateError::Inconsistent("membership_key is not KDF.Nh bytes"));
    }
    if !r.is_empty() {
        return Err(StateError::Corrupt(crate::codec::DecodeError::TrailingBytes(r.remaining())));
    }
    // A confirmation tag is a MAC of KDF.Nh bytes; a server cannot check
    // it without the confirmation key, but it can check its size.
    if part.confirmation_tag.len() != suite.hash_len() {
        return Err(StateError::Inconsistent("confirmation tag is not KDF.Nh bytes"));
    }
    Ok((part, membership_key))
}

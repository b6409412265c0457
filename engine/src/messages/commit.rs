//! `Commit` and `UpdatePath` (RFC 9420 §12.4, §7.6).

use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::crypto::{HpkeCiphertext, HpkePublicKey};

use super::{LeafNode, ProposalOrRef};

crate::wire_struct! {
    /// `UpdatePathNode` (RFC 9420 §7.6): one node of the committer's
    /// filtered direct path.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct UpdatePathNode {
        /// The node's new HPKE public key.
        pub encryption_key: HpkePublicKey,
        /// The node's path secret, encrypted to each node of the copath
        /// child's resolution (minus the leaves this Commit adds), in order.
        pub encrypted_path_secret: EncryptedPathSecrets,
    }
}

/// `HPKECiphertext encrypted_path_secret<V>` (RFC 9420 §7.6), held as the
/// vector's encoded body. A cold commit at 10,000 members carries about
/// 10,000 ciphertexts, of which a receiver opens one: as `HpkeCiphertext`s
/// they were 20,000 allocations to decode and free, and 20,000 small copies
/// to encode again for the signature and transcript hash (issue 16). Here a
/// node is one allocation, checked element by element when decoded, and
/// encodes as one copy.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EncryptedPathSecrets {
    /// HPKECiphertexts back to back, each known to decode.
    encoded: Box<[u8]>,
    len: usize,
}

impl EncryptedPathSecrets {
    /// Number of ciphertexts.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The ciphertext at `index`, if any.
    pub fn get(&self, index: usize) -> Option<HpkeCiphertext> {
        self.parts().nth(index).map(owned)
    }

    /// The ciphertexts in order.
    pub fn iter(&self) -> impl Iterator<Item = HpkeCiphertext> + '_ {
        self.parts().map(owned)
    }

    /// Encoded length of the ciphertexts, without the vector's prefix.
    pub(crate) fn body_len(&self) -> usize {
        self.encoded.len()
    }

    /// Each ciphertext as (kem_output, ciphertext), borrowed. `encoded` was
    /// checked when it was built, so the walk ends only at its end.
    fn parts(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        let mut r = Reader::new(&self.encoded);
        std::iter::from_fn(move || if r.is_empty() { None } else { read_part(&mut r).ok() })
    }
}

/// One `HPKECiphertext` (RFC 9420 §7.6: `kem_output<V>`, `ciphertext<V>`),
/// borrowed from the reader.
fn read_part<'a>(r: &mut Reader<'a>) -> Result<(&'a [u8], &'a [u8]), DecodeError> {
    Ok((r.read_bytes()?, r.read_bytes()?))
}

fn owned((kem_output, ciphertext): (&[u8], &[u8])) -> HpkeCiphertext {
    HpkeCiphertext { kem_output: kem_output.to_vec(), ciphertext: ciphertext.to_vec() }
}

impl FromIterator<HpkeCiphertext> for EncryptedPathSecrets {
    fn from_iter<I: IntoIterator<Item = HpkeCiphertext>>(iter: I) -> Self {
        let mut encoded = Vec::new();
        let mut len = 0;
        for ciphertext in iter {
            ciphertext.encode(&mut encoded);
            len += 1;
        }
        Self { encoded: encoded.into(), len }
    }
}

impl From<Vec<HpkeCiphertext>> for EncryptedPathSecrets {
    fn from(ciphertexts: Vec<HpkeCiphertext>) -> Self {
        ciphertexts.into_iter().collect()
    }
}

impl std::fmt::Debug for EncryptedPathSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptedPathSecrets").field("len", &self.len).field("bytes", &self.encoded.len()).finish()
    }
}

impl Encode for EncryptedPathSecrets {
    fn encode(&self, out: &mut Vec<u8>) {
        crate::codec::write_varint(out, self.encoded.len() as u64);
        out.extend_from_slice(&self.encoded);
    }
}

impl Decode for EncryptedPathSecrets {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut body = r.sub_reader()?;
        let encoded = body.peek_rest();
        let mut len = 0;
        while !body.is_empty() {
            read_part(&mut body)?;
            len += 1;
        }
        Ok(Self { encoded: encoded.into(), len })
    }
}

crate::wire_struct! {
    /// `UpdatePath` (RFC 9420 §7.6).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct UpdatePath {
        /// The committer's new leaf node (source `commit`).
        pub leaf_node: LeafNode,
        /// One node per entry of the filtered direct path, leaf to root.
        pub nodes: Vec<UpdatePathNode>,
    }
}

crate::wire_struct! {
    /// `Commit` (RFC 9420 §12.4).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Commit {
        /// The proposals covered, in the order they apply.
        pub proposals: Vec<ProposalOrRef>,
        /// The committer's new path, when present.
        pub path: Option<UpdatePath>,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::leaf_node::tests::sample_leaf_node;
    use super::*;
    use crate::messages::{LeafNodeSource, Proposal, ProposalRef, Remove};
    use crate::tree_math::LeafIndex;

    #[test]
    fn commit_round_trips() {
        let path = UpdatePath {
            leaf_node: sample_leaf_node(LeafNodeSource::Commit { parent_hash: vec![1; 32] }),
            nodes: vec![UpdatePathNode {
                encryption_key: HpkePublicKey(vec![2; 32].into()),
                encrypted_path_secret: vec![HpkeCiphertext { kem_output: vec![3; 32], ciphertext: vec![4; 48] }; 3]
                    .into(),
            }],
        };
        for commit in [
            Commit { proposals: vec![], path: Some(path) },
            Commit {
                proposals: vec![
                    ProposalOrRef::Proposal(Box::new(Proposal::Remove(Remove { removed: LeafIndex(1) }))),
                    ProposalOrRef::Reference(ProposalRef(vec![5; 32])),
                ],
                path: None,
            },
        ] {
            assert_eq!(Commit::from_bytes(&commit.to_bytes()).unwrap(), commit);
        }
    }

    /// The compact form encodes exactly as `HPKECiphertext<V>` did, reads
    /// back the same ciphertexts, and refuses what the element decoder
    /// refuses.
    #[test]
    fn encrypted_path_secrets_match_the_vector_form() {
        let ciphertexts: Vec<HpkeCiphertext> = (0..70u8)
            .map(|i| HpkeCiphertext {
                kem_output: vec![i; usize::from(i % 3) * 40],
                ciphertext: vec![!i; 48 + usize::from(i)],
            })
            .collect();
        let compact = EncryptedPathSecrets::from(ciphertexts.clone());
        assert_eq!(compact.to_bytes(), ciphertexts.to_bytes());
        assert_eq!(compact.len(), 70);
        assert_eq!(compact.iter().collect::<Vec<_>>(), ciphertexts);
        assert_eq!(compact.get(69), Some(ciphertexts[69].clone()));
        assert_eq!(compact.get(70), None);
        let decoded = EncryptedPathSecrets::from_bytes(&ciphertexts.to_bytes()).unwrap();
        assert_eq!(decoded, compact);
        assert!(EncryptedPathSecrets::default().is_empty());

        // A truncated last element, a non-minimal length, a stray byte.
        let bad = [vec![4, 2, 1, 1, 5], vec![4, 0x40, 1, 9, 0], vec![3, 0, 0, 7]];
        for bytes in bad {
            assert!(EncryptedPathSecrets::from_bytes(&bytes).is_err(), "{bytes:?}");
            assert!(Vec::<HpkeCiphertext>::from_bytes(&bytes).is_err(), "{bytes:?}");
        }
    }
}

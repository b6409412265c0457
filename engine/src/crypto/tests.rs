//! Unit tests of the crypto module, run for every suite the default provider
//! implements, plus the RFC 7748 and RFC 8032 vectors for the RustCrypto
//! halves of suites 4 and 6.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn hex(s: &str) -> Vec<u8> {
    ::hex::decode(s).unwrap()
}

/// Every registered suite (RFC 9420 §17.1) the default provider runs.
fn suites() -> Vec<Suite<'static>> {
    (1..=7).filter_map(|cs| Suite::new(default_provider(), CipherSuite(cs)).ok()).collect()
}

/// `Npk` and `Nsk` of the suite's KEM (RFC 9180 §7.1 table 2).
fn kem_sizes(kem: KemAlgorithm) -> (usize, usize) {
    match kem {
        KemAlgorithm::DhKemP256 => (65, 32),
        KemAlgorithm::DhKemP384 => (97, 48),
        KemAlgorithm::DhKemP521 => (133, 66),
        KemAlgorithm::DhKemX25519 => (32, 32),
        KemAlgorithm::DhKemX448 => (56, 56),
    }
}

#[test]
fn every_registered_suite_is_supported() {
    let supported: Vec<u16> = suites().iter().map(|s| s.cipher_suite().0).collect();
    assert_eq!(supported, [1, 2, 3, 4, 5, 6, 7]);
    assert!(matches!(
        Suite::new(default_provider(), CipherSuite(0x0A0A)),
        Err(CryptoError::UnsupportedCipherSuite(0x0A0A))
    ));
}

#[test]
fn sign_verify_round_trip() {
    for suite in suites() {
        let cs = suite.cipher_suite().0;
        let pair = suite.generate_signature_key_pair().unwrap();
        let sig = suite.sign_with_label(&pair.private, "LeafNodeTBS", b"content").unwrap();
        assert_eq!(suite.verify_with_label(&pair.public.0, "LeafNodeTBS", b"content", &sig), Ok(()), "suite {cs}");

        let fails = |key: &[u8], label: &str, content: &[u8], sig: &[u8]| {
            assert_eq!(
                suite.verify_with_label(key, label, content, sig),
                Err(CryptoError::VerificationFailed),
                "suite {cs}"
            );
        };
        for bit in [0, 7, sig.len() * 4, sig.len() * 8 - 1] {
            let mut flipped = sig.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            fails(&pair.public.0, "LeafNodeTBS", b"content", &flipped);
        }
        fails(&pair.public.0, "LeafNodeTBS", b"contenT", &sig);
        fails(&pair.public.0, "GroupInfoTBS", b"content", &sig);
        let other = suite.generate_signature_key_pair().unwrap();
        fails(&other.public.0, "LeafNodeTBS", b"content", &sig);
        fails(&pair.public.0, "LeafNodeTBS", b"content", &[]);
        fails(&pair.public.0, "LeafNodeTBS", b"content", &sig[..sig.len() - 1]);
    }
}

#[test]
fn signing_from_a_malformed_private_key_is_an_error() {
    for suite in suites() {
        let cs = suite.cipher_suite().0;
        for len in [0, 1, 31, 200] {
            let key = SignaturePrivateKey(Secret::zero(len));
            assert!(suite.sign_with_label(&key, "L", b"c").is_err(), "suite {cs} len {len}");
        }
    }
}

#[test]
fn malformed_signature_public_keys_fail_verification() {
    for suite in suites() {
        let cs = suite.cipher_suite().0;
        let pair = suite.generate_signature_key_pair().unwrap();
        let sig = suite.sign_with_label(&pair.private, "L", b"c").unwrap();
        let n = pair.public.0.len();
        let truncated = pair.public.0[..n - 1].to_vec();
        let extended = [&pair.public.0[..], &[0]].concat();
        let malformed = [vec![], vec![0], truncated, extended, vec![0xFF; n]];
        for key in &malformed {
            assert_eq!(
                suite.verify_with_label(key, "L", b"c", &sig),
                Err(CryptoError::VerificationFailed),
                "suite {cs} key {key:02x?}"
            );
        }
    }
}

#[test]
fn hpke_round_trip() {
    for suite in suites() {
        let cs = suite.cipher_suite().0;
        let pair = suite.generate_hpke_key_pair().unwrap();
        let ct = suite.encrypt_with_label(&pair.public.0, "UpdatePathNode", b"group context", b"path secret").unwrap();
        let pt = suite.decrypt_with_label(&pair.private, "UpdatePathNode", b"group context", &ct).unwrap();
        assert_eq!(pt.as_bytes(), b"path secret", "suite {cs}");

        let fails = |key: &HpkePrivateKey, label: &str, context: &[u8], ct: &HpkeCiphertext| {
            assert_eq!(
                suite.decrypt_with_label(key, label, context, ct),
                Err(CryptoError::DecryptionFailed),
                "suite {cs}"
            );
        };
        let other = suite.generate_hpke_key_pair().unwrap();
        fails(&other.private, "UpdatePathNode", b"group context", &ct);
        fails(&pair.private, "Welcome", b"group context", &ct);
        fails(&pair.private, "UpdatePathNode", b"other context", &ct);
        let mut tampered = ct.clone();
        tampered.ciphertext[0] ^= 1;
        fails(&pair.private, "UpdatePathNode", b"group context", &tampered);
        let mut tampered = ct.clone();
        let last = tampered.kem_output.len() - 1;
        tampered.kem_output[last / 2] ^= 1;
        fails(&pair.private, "UpdatePathNode", b"group context", &tampered);
        for kem_output in [vec![], vec![0; 1], ct.kem_output[..last].to_vec(), vec![0; last + 1]] {
            let ct = HpkeCiphertext { kem_output, ciphertext: ct.ciphertext.clone() };
            fails(&pair.private, "UpdatePathNode", b"group context", &ct);
        }
        fails(&HpkePrivateKey(Secret::zero(0)), "UpdatePathNode", b"group context", &ct);
    }
}

#[test]
fn encrypting_to_a_malformed_public_key_is_an_error() {
    for suite in suites() {
        let cs = suite.cipher_suite().0;
        let (npk, _) = kem_sizes(suite.algorithms().kem);
        // All-zero of the right length is the identity / a low-order point
        // (RFC 9180 §7.1.4), never a usable key.
        for key in [vec![], vec![4], vec![0x42; npk - 1], vec![0x42; npk + 1], vec![0; npk]] {
            assert!(suite.encrypt_with_label(&key, "L", b"c", b"p").is_err(), "suite {cs} len {}", key.len());
        }
    }
}

#[test]
fn derive_key_pair_is_deterministic() {
    for suite in suites() {
        let cs = suite.cipher_suite().0;
        let ikm = vec![7u8; suite.hash_len()];
        let a = suite.derive_key_pair(&ikm).unwrap();
        let b = suite.derive_key_pair(&ikm).unwrap();
        assert_eq!(a.public, b.public, "suite {cs}");
        assert_eq!(a.private, b.private, "suite {cs}");
        let c = suite.derive_key_pair(&[8u8; 32]).unwrap();
        assert_ne!(a.public, c.public, "suite {cs}");

        let (npk, nsk) = kem_sizes(suite.algorithms().kem);
        assert_eq!((a.public.0.len(), a.private.0.len()), (npk, nsk), "suite {cs}");

        // The pair works as an HPKE key pair.
        let ct = suite.encrypt_with_label(&a.public.0, "L", b"", b"x").unwrap();
        assert_eq!(suite.decrypt_with_label(&b.private, "L", b"", &ct).unwrap().as_bytes(), b"x");
    }
}

/// `external_priv, external_pub = KEM.DeriveKeyPair(external_secret)`
/// (RFC 9420 §8.3): the key-schedule vectors give a DeriveKeyPair answer
/// for every suite, the only one there is for our own X448 code.
#[test]
fn derive_key_pair_matches_key_schedule_vectors() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../test-vectors/key-schedule.json");
    let cases: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let mut checked = std::collections::BTreeMap::<u64, usize>::new();
    for case in cases.as_array().unwrap() {
        let cs = case["cipher_suite"].as_u64().unwrap();
        let suite = Suite::new(default_provider(), CipherSuite(cs as u16)).unwrap();
        for epoch in case["epochs"].as_array().unwrap() {
            let secret = hex(epoch["external_secret"].as_str().unwrap());
            let want = hex(epoch["external_pub"].as_str().unwrap());
            assert_eq!(suite.derive_key_pair(&secret).unwrap().public.as_bytes(), want, "suite {cs}");
            *checked.entry(cs).or_default() += 1;
        }
    }
    assert_eq!(checked.keys().copied().collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6, 7]);
}

#[test]
fn secrets_never_print() {
    let bytes = b"TOP-SECRET-BYTES".to_vec();
    let decimal = format!("{:?}", &bytes[..4]);
    let decimal = &decimal[1..decimal.len() - 1];
    let hex_lower = ::hex::encode(&bytes[..4]);
    let printed = [
        format!("{:?}", Secret::from_slice(&bytes)),
        format!("{:#?}", Secret::from_slice(&bytes)),
        format!("{:?}", HpkePrivateKey(Secret::from_slice(&bytes))),
        format!("{:?}", SignaturePrivateKey(Secret::from_slice(&bytes))),
    ];
    for p in printed {
        assert!(!p.contains(decimal) && !p.to_lowercase().contains(&hex_lower) && !p.contains("TOP"), "{p}");
    }
}

/// RFC 7748 §5.2 (the two single-step vectors) and §6.2 (Alice and Bob).
#[test]
fn x448_rfc7748_vectors() {
    let steps = [
        (
            "3d262fddf9ec8e88495266fea19a34d28882acef045104d0d1aae121700a779c984c24f8cdd78fbff44943eba368f54b29259a4f1c600ad3",
            "06fce640fa3487bfda5f6cf2d5263f8aad88334cbd07437f020f08f9814dc031ddbdc38c19c6da2583fa5429db94ada18aa7a7fb4ef8a086",
            "ce3e4ff95a60dc6697da1db1d85e6afbdf79b50a2412d7546d5f239fe14fbaadeb445fc66a01b0779d98223961111e21766282f73dd96b6f",
        ),
        (
            "203d494428b8399352665ddca42f9de8fef600908e0d461cb021f8c538345dd77c3e4806e25f46d3315c44e0a5b4371282dd2c8d5be3095f",
            "0fbcc2f993cd56d3305b0b7d9e55d4c1a8fb5dbb52f8e9a1e9b6201b165d015894e56c4d3570bee52fe205e28a78b91cdfbde71ce8d157db",
            "884a02576239ff7a2f2f63b2db6a9ff37047ac13568e1e30fe63c4a7ad1b3ee3a5700df34321d62077e63633c575c1c954514e99da7c179d",
        ),
    ];
    for (scalar, u, out) in steps {
        assert_eq!(dhkem_x448::dh(&hex(scalar), &hex(u)).unwrap().as_bytes(), hex(out));
    }

    let alice = hex(
        "9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28dd9c9baf574a9419744897391006382a6f127ab1d9ac2d8c0a598726b",
    );
    let bob = hex(
        "1c306a7ac2a0e2e0990b294470cba339e6453772b075811d8fad0d1d6927c120bb5ee8972b0d3e21374c9c921b09d1b0366f10b65173992d",
    );
    let alice_pub = dhkem_x448::public_key(&alice).unwrap();
    let bob_pub = dhkem_x448::public_key(&bob).unwrap();
    assert_eq!(
        alice_pub,
        hex(
            "9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c22c5d9bbc836647241d953d40c5b12da88120d53177f80e532c41fa0"
        )
    );
    assert_eq!(
        bob_pub,
        hex(
            "3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b43027d8b972fc3e34fb4232a13ca706dcb57aec3dae07bdc1c67bf33609"
        )
    );
    let shared = hex(
        "07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282bb60c0b56fd2464c335543936521c24403085d59a449a5037514a879d",
    );
    assert_eq!(dhkem_x448::dh(&alice, &bob_pub).unwrap().as_bytes(), shared);
    assert_eq!(dhkem_x448::dh(&bob, &alice_pub).unwrap().as_bytes(), shared);
}

/// Low-order u-coordinates force an all-zero X448 output; RFC 9180 §7.1.4
/// requires rejecting it. Also p itself, a non-canonical encoding of 0.
#[test]
fn x448_rejects_low_order_points() {
    let sk = [0x42u8; 56];
    let mut p = [0xFFu8; 56];
    p[28] = 0xFE; // p = 2^448 - 2^224 - 1, little-endian
    let mut one = [0u8; 56];
    one[0] = 1;
    for u in [[0u8; 56], one, p] {
        assert_eq!(dhkem_x448::dh(&sk, &u), Err(CryptoError::InvalidKey));
    }
    assert_eq!(dhkem_x448::dh(&sk[..55], &one), Err(CryptoError::InvalidKey));
    assert_eq!(dhkem_x448::public_key(&[]), Err(CryptoError::InvalidKey));
}

/// RFC 8032 §7.4, the first ("blank") Ed448 vector: pure Ed448 is
/// deterministic, so our signature must equal the RFC's bit for bit.
#[test]
fn ed448_rfc8032_vector() {
    let alg = CipherSuite::MLS_256_DHKEMX448_AES256GCM_SHA512_ED448.algorithms().unwrap();
    let seed = hex(
        "6c82a562cb808d10d632be89c8513ebf6c929f34ddfa8c9f63c9960ef6e348a3528c8a3fcc2f044e39a3fc5b94492f8f032e7549a20098f95b",
    );
    let public = hex(
        "5fd7449b59b461fd2ce787ec616ad46a1da1342485a70e1f8a0ea75d80e96778edf124769b46c7061bd6783df1e50f6cd1fa1abeafe8256180",
    );
    let want = hex(concat!(
        "533a37f6bbe457251f023c0d88f976ae2dfb504a843e34d2074fd823d41a591f2b233f034f628281f2fd7a22ddd47d7828c59bd0a21bfd3980",
        "ff0d2028d4b18a9df63e006c5d1c2d345b925d8dc00b4104852db99ac5c7cdda8530a113a0f4dbb61149f05a7363268c71d95808ff2e652600",
    ));
    let provider = default_provider();
    let sig = provider.sign(&alg, &SignaturePrivateKey(Secret::new(seed)), b"").unwrap();
    assert_eq!(sig, want);
    assert_eq!(provider.verify(&alg, &public, b"", &sig), Ok(()));
    assert_eq!(provider.verify(&alg, &public, b"x", &sig), Err(CryptoError::VerificationFailed));
}

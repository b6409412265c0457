//! SFrame cipher suites (RFC 9605 §4.5, IANA registry §8.1) and the
//! AES-256-CTR suites 6–8 of the later extension whose vectors are in
//! `test-vectors/sframe/sframe-aes256-ctr-hmac.md`.

use crate::error::SframeError;

/// The hash an SFrame suite derives keys with (RFC 9605 §4.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SframeHash {
    /// SHA-256 (`Nh` = 32).
    Sha256,
    /// SHA-512 (`Nh` = 64).
    Sha512,
}

impl SframeHash {
    /// `Hash.Nh`.
    pub const fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }
}

/// An SFrame cipher suite. The numbers are the IANA registry's (RFC 9605
/// §8.1); 6–8 are the AES-256-CTR extension (same construction as 1–3,
/// §4.5.1, with AES-256 and HMAC-SHA-512: `Nka` 32, `Nh` 64, `Nk` 96).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SframeSuite {
    /// `AES_128_CTR_HMAC_SHA256_80` (0x0001).
    AesCtr128HmacSha256_80,
    /// `AES_128_CTR_HMAC_SHA256_64` (0x0002).
    AesCtr128HmacSha256_64,
    /// `AES_128_CTR_HMAC_SHA256_32` (0x0003).
    AesCtr128HmacSha256_32,
    /// `AES_128_GCM_SHA256_128` (0x0004).
    AesGcm128Sha256,
    /// `AES_256_GCM_SHA512_128` (0x0005).
    AesGcm256Sha512,
    /// `AES_256_CTR_HMAC_SHA512_80` (0x0006, AES-256-CTR extension).
    AesCtr256HmacSha512_80,
    /// `AES_256_CTR_HMAC_SHA512_64` (0x0007, AES-256-CTR extension).
    AesCtr256HmacSha512_64,
    /// `AES_256_CTR_HMAC_SHA512_32` (0x0008, AES-256-CTR extension).
    AesCtr256HmacSha512_32,
}

/// The nonce length of every suite, `AEAD.Nn` (RFC 9605 §4.5).
pub const NONCE_LEN: usize = 12;

impl SframeSuite {
    /// Every suite, in registry order.
    pub const ALL: [SframeSuite; 8] = [
        Self::AesCtr128HmacSha256_80,
        Self::AesCtr128HmacSha256_64,
        Self::AesCtr128HmacSha256_32,
        Self::AesGcm128Sha256,
        Self::AesGcm256Sha512,
        Self::AesCtr256HmacSha512_80,
        Self::AesCtr256HmacSha512_64,
        Self::AesCtr256HmacSha512_32,
    ];

    /// The suite with registry number `id`.
    pub fn from_id(id: u16) -> Result<Self, SframeError> {
        Self::ALL.into_iter().find(|s| s.id() == id).ok_or(SframeError::UnsupportedSuite(id))
    }

    /// The registry number (RFC 9605 §8.1), which key derivation mixes in
    /// (§4.4.2).
    pub const fn id(self) -> u16 {
        match self {
            Self::AesCtr128HmacSha256_80 => 1,
            Self::AesCtr128HmacSha256_64 => 2,
            Self::AesCtr128HmacSha256_32 => 3,
            Self::AesGcm128Sha256 => 4,
            Self::AesGcm256Sha512 => 5,
            Self::AesCtr256HmacSha512_80 => 6,
            Self::AesCtr256HmacSha512_64 => 7,
            Self::AesCtr256HmacSha512_32 => 8,
        }
    }

    /// The registry name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::AesCtr128HmacSha256_80 => "AES_128_CTR_HMAC_SHA256_80",
            Self::AesCtr128HmacSha256_64 => "AES_128_CTR_HMAC_SHA256_64",
            Self::AesCtr128HmacSha256_32 => "AES_128_CTR_HMAC_SHA256_32",
            Self::AesGcm128Sha256 => "AES_128_GCM_SHA256_128",
            Self::AesGcm256Sha512 => "AES_256_GCM_SHA512_128",
            Self::AesCtr256HmacSha512_80 => "AES_256_CTR_HMAC_SHA512_80",
            Self::AesCtr256HmacSha512_64 => "AES_256_CTR_HMAC_SHA512_64",
            Self::AesCtr256HmacSha512_32 => "AES_256_CTR_HMAC_SHA512_32",
        }
    }

    /// The key-derivation hash (and, for the CTR suites, the HMAC's).
    pub const fn hash(self) -> SframeHash {
        match self {
            Self::AesCtr128HmacSha256_80
            | Self::AesCtr128HmacSha256_64
            | Self::AesCtr128HmacSha256_32
            | Self::AesGcm128Sha256 => SframeHash::Sha256,
            Self::AesGcm256Sha512
            | Self::AesCtr256HmacSha512_80
            | Self::AesCtr256HmacSha512_64
            | Self::AesCtr256HmacSha512_32 => SframeHash::Sha512,
        }
    }

    /// Whether the AEAD is the AES-CTR + HMAC composite of §4.5.1.
    pub const fn is_ctr_hmac(self) -> bool {
        !matches!(self, Self::AesGcm128Sha256 | Self::AesGcm256Sha512)
    }

    /// `AEAD.Nka`: the AES key length inside a CTR + HMAC key; for GCM,
    /// the whole key.
    pub const fn aes_key_len(self) -> usize {
        match self {
            Self::AesCtr128HmacSha256_80
            | Self::AesCtr128HmacSha256_64
            | Self::AesCtr128HmacSha256_32
            | Self::AesGcm128Sha256 => 16,
            Self::AesGcm256Sha512
            | Self::AesCtr256HmacSha512_80
            | Self::AesCtr256HmacSha512_64
            | Self::AesCtr256HmacSha512_32 => 32,
        }
    }

    /// `AEAD.Nk`: `Nka + Nh` for CTR + HMAC (§4.5.1), the AES key for GCM.
    /// The MLS exporter gives a base key of this length (§5.2).
    pub const fn key_len(self) -> usize {
        if self.is_ctr_hmac() { self.aes_key_len() + self.hash().output_len() } else { self.aes_key_len() }
    }

    /// `AEAD.Nn`.
    pub const fn nonce_len(self) -> usize {
        NONCE_LEN
    }

    /// `AEAD.Nt`: the tag length.
    pub const fn tag_len(self) -> usize {
        match self {
            Self::AesCtr128HmacSha256_80 | Self::AesCtr256HmacSha512_80 => 10,
            Self::AesCtr128HmacSha256_64 | Self::AesCtr256HmacSha512_64 => 8,
            Self::AesCtr128HmacSha256_32 | Self::AesCtr256HmacSha512_32 => 4,
            Self::AesGcm128Sha256 | Self::AesGcm256Sha512 => 16,
        }
    }
}

impl std::fmt::Display for SframeSuite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

//! Shamir secret sharing over GF(2^8) as sops uses it (HashiCorp Vault's `shamir` package): the field is
//! AES's (x^8 + x^4 + x^3 + x + 1), every byte of the secret gets its own random polynomial of degree
//! threshold-1, and each share is the polynomial values followed by one byte, the share's x coordinate.

use crate::error::{Error, Result};
use rand::RngCore as _;
use rand::seq::SliceRandom as _;

/// Multiplication in GF(2^8) with the AES reduction polynomial.
pub fn mul(a: u8, b: u8) -> u8 {
    let mut r: u8 = 0;
    for i in (0..8).rev() {
        let bit = (b >> i) & 1;
        r = (0u8.wrapping_sub(bit) & a) ^ (0u8.wrapping_sub(r >> 7) & 0x1b) ^ r.wrapping_shl(1);
    }
    r
}

fn inverse(a: u8) -> u8 {
    // a^254 = a^-1 for a != 0
    let mut result = 1u8;
    let mut base = a;
    let mut e = 254u32;
    while e > 0 {
        if e & 1 == 1 {
            result = mul(result, base);
        }
        base = mul(base, base);
        e >>= 1;
    }
    result
}

fn div(a: u8, b: u8) -> u8 {
    mul(a, inverse(b))
}

/// Evaluate the polynomial with `coeffs` (constant term first) at `x`.
pub fn evaluate(coeffs: &[u8], x: u8) -> u8 {
    coeffs.iter().rev().fold(0u8, |acc, &c| mul(acc, x) ^ c)
}

/// Split `secret` into `parts` shares, any `threshold` of which recover it.
pub fn split(secret: &[u8], parts: usize, threshold: usize) -> Result<Vec<Vec<u8>>> {
    if parts < threshold || threshold < 2 || parts > 255 || secret.is_empty() {
        return Err(Error::invalid(
            "shamir parameters",
            format!("need 2 <= threshold ({threshold}) <= key groups ({parts}) <= 255"),
        ));
    }
    let mut rng = rand::rngs::OsRng;
    let mut xs: Vec<u8> = (1..=255u8).collect();
    xs.shuffle(&mut rng);
    let mut out: Vec<Vec<u8>> = xs[..parts]
        .iter()
        .map(|&x| {
            let mut v = vec![0u8; secret.len() + 1];
            v[secret.len()] = x;
            v
        })
        .collect();
    let mut coeffs = vec![0u8; threshold];
    for (i, &byte) in secret.iter().enumerate() {
        coeffs[0] = byte;
        rng.fill_bytes(&mut coeffs[1..]);
        for share in out.iter_mut() {
            let x = share[secret.len()];
            share[i] = evaluate(&coeffs, x);
        }
    }
    coeffs.iter_mut().for_each(|c| *c = 0);
    Ok(out)
}

/// Recover the secret from `threshold` or more shares (Lagrange interpolation at x = 0).
pub fn combine(shares: &[Vec<u8>]) -> Result<Vec<u8>> {
    let bad = |why: &str| Error::invalid("shamir shares", why.to_string());
    if shares.len() < 2 {
        return Err(bad("at least two shares are needed"));
    }
    let len = shares[0].len();
    if len < 2 || shares.iter().any(|s| s.len() != len) {
        return Err(bad("shares have different or too short lengths"));
    }
    let xs: Vec<u8> = shares.iter().map(|s| s[len - 1]).collect();
    for (i, x) in xs.iter().enumerate() {
        if xs[..i].contains(x) {
            return Err(bad("two shares have the same x coordinate"));
        }
    }
    let mut secret = vec![0u8; len - 1];
    for (idx, byte) in secret.iter_mut().enumerate() {
        let mut acc = 0u8;
        for (i, share) in shares.iter().enumerate() {
            let mut basis = 1u8;
            for (j, &xj) in xs.iter().enumerate() {
                if i != j {
                    basis = mul(basis, div(xj, xs[i] ^ xj));
                }
            }
            acc ^= mul(share[idx], basis);
        }
        *byte = acc;
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_multiplication_matches_fips_197() {
        // FIPS-197 §4.2: {57} • {83} = {c1}, {57} • {13} = {fe}
        assert_eq!(mul(0x57, 0x83), 0xc1);
        assert_eq!(mul(0x57, 0x13), 0xfe);
        for a in 1..=255u8 {
            assert_eq!(mul(a, inverse(a)), 1);
        }
    }

    #[test]
    fn hand_built_shares_recover_the_secret() {
        // secret bytes 0x42, 0x07 with polynomials 0x42 + 0x11x + 0x99x^2 and 0x07 + 0xaax + 0x01x^2
        let polys = [[0x42u8, 0x11, 0x99], [0x07, 0xaa, 0x01]];
        let shares: Vec<Vec<u8>> = [3u8, 200, 77]
            .iter()
            .map(|&x| vec![evaluate(&polys[0], x), evaluate(&polys[1], x), x])
            .collect();
        assert_eq!(combine(&shares).unwrap(), vec![0x42, 0x07]);
        assert_ne!(combine(&shares[..2]).unwrap(), vec![0x42, 0x07]);
    }

    #[test]
    fn split_then_combine_any_quorum() {
        let secret: Vec<u8> = (0..32).collect();
        let shares = split(&secret, 3, 2).unwrap();
        assert_eq!(shares[0].len(), 33);
        assert_eq!(combine(&shares[..2]).unwrap(), secret);
        assert_eq!(combine(&shares[1..]).unwrap(), secret);
        assert_eq!(
            combine(&[shares[0].clone(), shares[2].clone()]).unwrap(),
            secret
        );
    }
}

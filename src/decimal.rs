//! Decimal text to and from `f64` without the standard library's float parsing (whose tables
//! are large in the filter's .wasm). The results are the standard library's: `f64::from_str`
//! for plain decimals, `Display` for whole numbers.

/// A plain decimal (`int.frac`, each at most 18 ASCII digits, `frac` possibly empty) as the
/// nearest `f64`, ties to even: what `"int.frac".parse::<f64>()` gives.
pub fn plain_to_f64(negative: bool, int: &str, frac: &str) -> Option<f64> {
    let digits = |p: &str| p.len() <= 18 && p.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) {
        return None;
    }
    let value = |p: &str| p.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
    let scale = 10u64.pow(frac.len() as u32);
    // The exact value is (q + r / scale), then binary digits are taken from r until there are 64.
    let mut q = value(int);
    let mut r = value(frac);
    let mut exp: i32 = 0;
    while q >> 63 == 0 {
        if q == 0 && r == 0 {
            return Some(if negative { -0.0 } else { 0.0 });
        }
        r *= 2;
        q = q * 2 + u64::from(r >= scale);
        if r >= scale {
            r -= scale;
        }
        exp -= 1;
    }
    // 64 bits to 53, to nearest, ties to even; `r` is what lies below the 64 bits.
    let low = q & 0x7ff;
    let mut m = q >> 11;
    exp += 11;
    if low > 0x400 || (low == 0x400 && (r != 0 || m & 1 == 1)) {
        m += 1;
        if m == 1 << 53 {
            m >>= 1;
            exp += 1;
        }
    }
    // `m` is exact as an f64, and so is the power of two (exp is within -130..=11).
    let pow2 = f64::from_bits(((1023 + exp) as u64) << 52);
    let v = m as f64 * pow2;
    Some(if negative { -v } else { v })
}

/// An `f64` as `format!("{v}")` writes it, for whole numbers (such as the catalog's bounds).
/// Others are in serde_json's shortest form, which is `Display`'s except for very large or
/// small values (`1e-7`) and where two shortest forms are equally near.
pub fn display(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e16 {
        let whole = (v.abs() as u64).to_string();
        return if v.is_sign_negative() { format!("-{whole}") } else { whole };
    }
    match serde_json::Number::from_f64(v) {
        Some(n) => n.to_string(),
        None if v.is_nan() => "NaN".to_string(),
        None if v > 0.0 => "inf".to_string(),
        None => "-inf".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{display, plain_to_f64};

    /// A small deterministic generator (xorshift), so the cases are the same on every run.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    fn digits(state: &mut u64, n: usize) -> String {
        (0..n).map(|_| char::from(b'0' + (next(state) % 10) as u8)).collect()
    }

    #[test]
    fn plain_decimals_read_as_the_standard_library_reads_them() {
        let mut cases: Vec<(String, String)> = vec![
            ("0".into(), "".into()),
            ("0".into(), "000".into()),
            ("1000000000000000".into(), "0625".into()),
            ("1000000000000000".into(), "0625000000000001".into()),
            ("1000000000000000".into(), "1875".into()),
            ("9".into(), "999999999999999999".into()),
            ("999999999999999999".into(), "999999999999999999".into()),
            ("0".into(), "000000000000000001".into()),
            ("9007199254740993".into(), "".into()),
            ("9007199254740995".into(), "".into()),
            ("10".into(), "".into()),
        ];
        let mut s = 0x2545_f491_4f6c_dd1d;
        for _ in 0..200_000 {
            let int_len = 1 + (next(&mut s) % 18) as usize;
            let frac_len = (next(&mut s) % 19) as usize;
            cases.push((digits(&mut s, int_len), digits(&mut s, frac_len)));
        }
        for (int, frac) in &cases {
            for negative in [false, true] {
                let text =
                    format!("{}{int}{}{frac}", if negative { "-" } else { "" }, if frac.is_empty() { "" } else { "." });
                let want: f64 = text.parse().unwrap_or(f64::NAN);
                let got = plain_to_f64(negative, int, frac).unwrap_or(f64::NAN);
                assert_eq!(got.to_bits(), want.to_bits(), "{text}");
            }
        }
        for (int, frac) in
            [("", "5"), ("1x", ""), ("1", "5e"), ("1234567890123456789", ""), ("1", "1234567890123456789")]
        {
            assert_eq!(plain_to_f64(false, int, frac), None, "{int}.{frac}");
        }
    }

    #[test]
    fn text_is_the_standard_librarys() {
        let mut values = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            10.0,
            0.5,
            1e15,
            9e15,
            123.456,
            0.1 + 0.2,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        let mut s = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..100_000 {
            values.push((next(&mut s) % (1 << 53)) as f64);
            values.push((next(&mut s) % 1_000_000) as f64 / 1000.0);
        }
        for v in values {
            assert_eq!(display(v), format!("{v}"), "{:e}", v);
        }
    }
}

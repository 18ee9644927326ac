//! Signal measurements for tests (this crate's and the end-to-end tone test): tone levels by
//! least squares, the residual once the tones are removed, SINAD and the strongest spectral
//! line. Levels are in dBFS of a sine's peak amplitude (a full-scale sine is 0 dBFS).

use std::f64::consts::PI;

/// Result of [`fit_tones`].
#[derive(Debug, Clone)]
pub struct ToneFit {
    /// Peak amplitude of each requested frequency, in full-scale units.
    pub amplitudes: Vec<f64>,
    /// The signal minus the fitted tones and DC.
    pub residual: Vec<f64>,
}

/// 20·log10 of an amplitude.
pub fn dbfs(amplitude: f64) -> f64 {
    20.0 * amplitude.max(1e-20).log10()
}

/// Level of `x` as if it were one sine: 20·log10(√2·rms).
pub fn sine_equivalent_dbfs(x: &[f64]) -> f64 {
    if x.is_empty() {
        return dbfs(0.0);
    }
    let ms = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
    dbfs((2.0 * ms).sqrt())
}

/// Least-squares fit of DC plus a sine at each of `freqs` (Hz) to `x` sampled at `rate`.
/// Exact for any window length (no need for whole cycles); a tone at a slightly wrong
/// frequency shows up as a low amplitude and a large residual.
pub fn fit_tones(x: &[f64], rate: f64, freqs: &[f64]) -> ToneFit {
    let k = 2 * freqs.len() + 1;
    let basis = |n: usize, j: usize| -> f64 {
        if j == 0 {
            return 1.0;
        }
        let w = 2.0 * PI * freqs[(j - 1) / 2] * n as f64 / rate;
        if j % 2 == 1 { w.sin() } else { w.cos() }
    };
    // Normal equations A·c = b.
    let mut a = vec![vec![0.0; k]; k];
    let mut b = vec![0.0; k];
    let mut row = vec![0.0; k];
    for (n, v) in x.iter().enumerate() {
        for (j, r) in row.iter_mut().enumerate() {
            *r = basis(n, j);
        }
        for i in 0..k {
            b[i] += row[i] * v;
            for j in 0..k {
                a[i][j] += row[i] * row[j];
            }
        }
    }
    let c = solve(a, b);
    let amplitudes = freqs
        .iter()
        .enumerate()
        .map(|(i, _)| c[1 + 2 * i].hypot(c[2 + 2 * i]))
        .collect();
    let residual = x
        .iter()
        .enumerate()
        .map(|(n, v)| v - (0..k).map(|j| c[j] * basis(n, j)).sum::<f64>())
        .collect();
    ToneFit {
        amplitudes,
        residual,
    }
}

/// Signal to noise-and-distortion ratio of a single tone at `freq`, in dB.
pub fn sinad_db(x: &[f64], rate: f64, freq: f64) -> f64 {
    let fit = fit_tones(x, rate, &[freq]);
    let signal = fit.amplitudes[0].powi(2) / 2.0;
    let noise = fit.residual.iter().map(|v| v * v).sum::<f64>() / x.len().max(1) as f64;
    10.0 * (signal / noise.max(1e-30)).log10()
}

/// The strongest sinusoidal component of `x`: (frequency in Hz, level in dBFS), from a
/// Hann-windowed FFT over the largest power-of-two prefix (amplitude-corrected for the window).
pub fn strongest_line(x: &[f64], rate: f64) -> (f64, f64) {
    let n = if x.len() < 2 {
        return (0.0, dbfs(0.0));
    } else {
        1usize << (usize::BITS - 1 - x.len().leading_zeros())
    };
    let mut re: Vec<f64> = x[..n]
        .iter()
        .enumerate()
        .map(|(i, v)| v * 0.5 * (1.0 - (2.0 * PI * i as f64 / n as f64).cos()))
        .collect();
    let mut im = vec![0.0; n];
    fft(&mut re, &mut im);
    // A sine of amplitude A peaks at A·n/4 under a Hann window.
    let (bin, mag) = (1..n / 2)
        .map(|i| (i, re[i].hypot(im[i])))
        .fold(
            (0, 0.0),
            |best, cur| if cur.1 > best.1 { cur } else { best },
        );
    (bin as f64 * rate / n as f64, dbfs(mag * 4.0 / n as f64))
}

/// Gaussian elimination with partial pivoting; singular systems yield zeros.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let k = b.len();
    for col in 0..k {
        let pivot = (col..k)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        if a[col][col].abs() < 1e-12 {
            continue;
        }
        let (top, below) = a.split_at_mut(col + 1);
        let pivot_row = &top[col];
        let b_pivot = b[col];
        for (row, b_row) in below.iter_mut().zip(&mut b[col + 1..]) {
            let f = row[col] / pivot_row[col];
            for (x, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * p;
            }
            *b_row -= f * b_pivot;
        }
    }
    let mut x = vec![0.0; k];
    for r in (0..k).rev() {
        if a[r][r].abs() < 1e-12 {
            continue;
        }
        let s: f64 = (r + 1..k).map(|c| a[r][c] * x[c]).sum();
        x[r] = (b[r] - s) / a[r][r];
    }
    x
}

/// In-place iterative radix-2 FFT; `re.len()` must be a power of two.
fn fft(re: &mut [f64], im: &mut [f64]) {
    let n = re.len();
    let mut j = 0;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            re.swap(i, j);
            im.swap(i, j);
        }
    }
    let mut len = 2;
    while len <= n {
        let ang = -2.0 * PI / len as f64;
        for start in (0..n).step_by(len) {
            for k in 0..len / 2 {
                let (s, c) = (ang * k as f64).sin_cos();
                let (a, b) = (start + k, start + k + len / 2);
                let tr = re[b] * c - im[b] * s;
                let ti = re[b] * s + im[b] * c;
                re[b] = re[a] - tr;
                im[b] = im[a] - ti;
                re[a] += tr;
                im[a] += ti;
            }
        }
        len <<= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: f64, f: f64, amp: f64, n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| amp * (2.0 * PI * f * i as f64 / rate + 0.3).sin())
            .collect()
    }

    #[test]
    fn fit_measures_two_tones_and_leaves_no_residual() {
        let mut x = tone(16000.0, 440.0, 0.25, 12345);
        for (v, w) in x.iter_mut().zip(tone(16000.0, 1000.0, 0.1, 12345)) {
            *v += w + 0.01;
        }
        let fit = fit_tones(&x, 16000.0, &[440.0, 1000.0]);
        assert!((fit.amplitudes[0] - 0.25).abs() < 1e-9);
        assert!((fit.amplitudes[1] - 0.1).abs() < 1e-9);
        assert!(sine_equivalent_dbfs(&fit.residual) < -150.0);
    }

    #[test]
    fn wrong_frequency_is_not_measured_as_the_tone() {
        // 1 % off (a 48 k stream played as 48.48 k): the fit at the nominal frequency collapses.
        let x = tone(16000.0, 1010.0, 0.25, 16000);
        let fit = fit_tones(&x, 16000.0, &[1000.0]);
        assert!(dbfs(fit.amplitudes[0]) < dbfs(0.25) - 20.0);
        assert!(sine_equivalent_dbfs(&fit.residual) > -15.0);
    }

    #[test]
    fn strongest_line_finds_frequency_and_level() {
        let x = tone(16000.0, 1000.0, 0.5, 20000);
        let (f, db) = strongest_line(&x, 16000.0);
        assert!((f - 1000.0).abs() < 2.0, "{f}");
        assert!((db - dbfs(0.5)).abs() < 1.5, "{db}");
        assert!(sinad_db(&x, 16000.0, 1000.0) > 120.0);
    }
}

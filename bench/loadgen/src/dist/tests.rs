//! Sample means and quantiles of every distribution against its parameters: the
//! empirical CDF at chosen points is compared with the analytic CDF (computed here
//! forwards, not through the inverse the sampler uses).

use super::{facebook, Distribution};
use rand::rngs::SmallRng;
use rand::SeedableRng;

const N: usize = 200_000;

fn samples(d: &Distribution) -> Vec<f64> {
    let mut rng = SmallRng::seed_from_u64(42);
    (0..N).map(|_| d.sample(&mut rng)).collect()
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

fn sd(xs: &[f64]) -> f64 {
    let m = mean(xs);
    (xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / xs.len() as f64).sqrt()
}

fn ecdf(xs: &[f64], x: f64) -> f64 {
    xs.iter().filter(|&&v| v <= x).count() as f64 / xs.len() as f64
}

/// Empirical CDF within 4 binomial standard errors (plus a hair) of `p` at `x`.
fn assert_cdf(xs: &[f64], x: f64, p: f64) {
    let got = ecdf(xs, x);
    let tol = 4.0 * (p * (1.0 - p) / xs.len() as f64).sqrt() + 1e-4;
    assert!(
        (got - p).abs() <= tol,
        "CDF at {x}: got {got}, want {p} ± {tol}"
    );
}

fn assert_close(got: f64, want: f64, rel: f64) {
    assert!(
        (got - want).abs() <= rel * want.abs(),
        "got {got}, want {want} (±{}%)",
        rel * 100.0
    );
}

/// Lanczos approximation of the gamma function (g = 7), for the GEV mean.
fn gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    (2.0 * std::f64::consts::PI).sqrt() * t.powf(x + 0.5) * (-t).exp() * a
}

fn gpareto_cdf(x: f64, loc: f64, scale: f64, shape: f64) -> f64 {
    1.0 - (1.0 + shape * (x - loc) / scale).powf(-1.0 / shape)
}

fn gev_cdf(x: f64, loc: f64, scale: f64, shape: f64) -> f64 {
    (-(1.0 + shape * (x - loc) / scale).powf(-1.0 / shape)).exp()
}

#[test]
fn parses_mutilate_syntax_and_refuses_garbage() {
    let p = |s| Distribution::parse("-K", s);
    assert_eq!(p("30").unwrap(), Distribution::Fixed(30.0));
    assert_eq!(p("fixed:7").unwrap(), Distribution::Fixed(7.0));
    assert_eq!(
        p("uniform:100").unwrap(),
        Distribution::Uniform { max: 100.0 }
    );
    assert_eq!(
        p("normal:10,2").unwrap(),
        Distribution::Normal {
            mean: 10.0,
            sd: 2.0
        }
    );
    assert_eq!(
        p("exponential").unwrap(),
        Distribution::Exponential { lambda: 1.0 }
    );
    assert_eq!(
        p("pareto:1,2,0.5").unwrap(),
        Distribution::GPareto {
            loc: 1.0,
            scale: 2.0,
            shape: 0.5
        }
    );
    assert_eq!(
        p("fb_key").unwrap(),
        Distribution::Gev {
            loc: 30.7984,
            scale: 8.20449,
            shape: 0.078688
        }
    );
    for bad in [
        "",
        "bogus:1",
        "normal:1",
        "uniform:x",
        "gev:1,2",
        "exponential:0",
        "uniform:-1",
        "nan",
        "pareto:1,-1,0.1",
    ] {
        let err = p(bad).unwrap_err().to_string();
        assert!(
            err.contains("-K"),
            "error for {bad:?} names the option: {err}"
        );
    }
}

#[test]
fn fixed_is_constant() {
    let xs = samples(&Distribution::Fixed(30.0));
    assert!(xs.iter().all(|&x| x == 30.0));
}

#[test]
fn uniform_mean_and_quantiles() {
    let d = Distribution::Uniform { max: 100.0 };
    let xs = samples(&d);
    assert_close(mean(&xs), 50.0, 0.01);
    assert!(xs.iter().all(|&x| (0.0..100.0).contains(&x)));
    for q in [0.05, 0.5, 0.9, 0.99] {
        assert_cdf(&xs, 100.0 * q, q);
    }
}

#[test]
fn normal_mean_sd_and_quantiles() {
    let d = Distribution::Normal {
        mean: 100.0,
        sd: 15.0,
    };
    let xs = samples(&d);
    assert_close(mean(&xs), 100.0, 0.002);
    assert_close(sd(&xs), 15.0, 0.01);
    // Standard normal CDF at -2, -1, 0, 1, 2 sd.
    for (z, p) in [
        (-2.0, 0.022_750),
        (-1.0, 0.158_655),
        (0.0, 0.5),
        (1.0, 0.841_345),
        (2.0, 0.977_250),
    ] {
        assert_cdf(&xs, 100.0 + 15.0 * z, p);
    }
}

#[test]
fn exponential_mean_and_quantiles() {
    let d = Distribution::Exponential { lambda: 4.0 };
    let xs = samples(&d);
    assert_close(mean(&xs), 0.25, 0.01);
    for x in [0.01, 0.25, 0.5, 1.0] {
        assert_cdf(&xs, x, 1.0 - (-4.0f64 * x).exp());
    }
}

#[test]
fn gpareto_mean_and_quantiles() {
    let (loc, scale, shape) = (15.0, 214.476, 0.348238);
    let d = Distribution::GPareto { loc, scale, shape };
    let xs = samples(&d);
    assert!(xs.iter().all(|&x| x >= loc));
    // Heavy tail (shape 0.35: finite variance only just): compare the median and
    // quantiles tightly, the mean loosely.
    assert_close(mean(&xs), loc + scale / (1.0 - shape), 0.03);
    for x in [20.0, 100.0, 300.0, 1000.0, 5000.0] {
        assert_cdf(&xs, x, gpareto_cdf(x, loc, scale, shape));
    }
}

#[test]
fn gev_mean_and_quantiles_fb_key() {
    let d = Distribution::parse("-K", "fb_key").unwrap();
    let (loc, scale, shape) = facebook::KEY_GEV;
    let xs = samples(&d);
    let want_mean = loc + scale * (gamma(1.0 - shape) - 1.0) / shape;
    assert_close(mean(&xs), want_mean, 0.005);
    for x in [20.0, 30.0, 35.0, 50.0, 80.0] {
        assert_cdf(&xs, x, gev_cdf(x, loc, scale, shape));
    }
}

#[test]
fn fb_value_table_and_tail() {
    let d = Distribution::FbValue;
    let xs = samples(&d);
    let mass = facebook::value_table_mass();
    assert_close(mass, 0.44155, 1e-9);
    for (size, p) in facebook::VALUE_TABLE.iter().enumerate() {
        let got = xs.iter().filter(|&&x| x == size as f64).count() as f64 / N as f64;
        let tol = 4.0 * (p * (1.0 - p) / N as f64).sqrt() + 1e-4;
        assert!((got - p).abs() <= tol, "P(size={size}) = {got}, want {p}");
    }
    let (loc, scale, shape) = facebook::VALUE_GPARETO;
    for x in [15.0, 100.0, 500.0, 2000.0] {
        assert_cdf(
            &xs,
            x,
            mass + (1.0 - mass) * gpareto_cdf(x, loc, scale, shape),
        );
    }
}

#[test]
fn fb_ia_refits_to_the_target_rate() {
    let d = Distribution::parse("-i", "fb_ia")
        .unwrap()
        .with_rate(1000.0)
        .unwrap();
    match d {
        Distribution::GPareto { loc, shape, .. } => {
            assert_eq!(loc, 0.0);
            assert_eq!(shape, facebook::IA_SHAPE);
        }
        other => panic!("fb_ia is a generalized Pareto, got {other:?}"),
    }
    assert_close(d.mean().unwrap(), 1e-3, 1e-12);
    let xs = samples(&d);
    assert_close(mean(&xs), 1e-3, 0.02);
}

#[test]
fn with_rate_sets_every_family_mean() {
    for text in [
        "exponential",
        "fixed:1",
        "uniform:1",
        "normal:1,0.0001",
        "pareto:0,1,0.2",
        "fb_ia",
    ] {
        let d = Distribution::parse("-i", text)
            .unwrap()
            .with_rate(250.0)
            .unwrap();
        assert_close(d.mean().unwrap(), 0.004, 1e-9);
        let xs = samples(&d);
        assert_close(mean(&xs), 0.004, 0.02);
    }
    assert!(Distribution::parse("-i", "fb_key")
        .unwrap()
        .with_rate(1.0)
        .is_err());
    assert!(Distribution::FbValue.with_rate(1.0).is_err());
}

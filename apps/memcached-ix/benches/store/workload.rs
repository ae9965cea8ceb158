//! The benchmark's memcached-like mix: keys, their value sizes, a uniform or Zipf
//! key choice, and a small per-thread random generator (no dependency).

/// Smallest and largest value in bytes; sizes are log-uniform between them, so
/// small values dominate the count as in memcached traces.
pub const VALUE_MIN: usize = 32;
/// See [`VALUE_MIN`].
pub const VALUE_MAX: usize = 4096;
/// Distinct value sizes (a key's size is one of them, fixed per key).
pub const SIZE_CLASSES: usize = 64;

/// How keys are chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dist {
    /// Every key equally likely.
    Uniform,
    /// Zipf with this exponent (YCSB's 0.99: a few keys take most requests).
    Zipf(f64),
}

impl std::fmt::Display for Dist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dist::Uniform => write!(f, "uniform"),
            Dist::Zipf(t) => write!(f, "zipf {t}"),
        }
    }
}

/// xorshift64*: fast, good enough for choosing keys; one per thread.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from `seed` (any value; 0 is remapped).
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n); assumes n > 0.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// Draws key indices: Gray et al.'s constant-time Zipf generator (as YCSB's), or
/// uniform. Rank 0 is the hottest key.
#[derive(Debug, Clone)]
pub struct KeyChooser {
    n: usize,
    dist: Dist,
    zetan: f64,
    alpha: f64,
    eta: f64,
    half_pow_theta: f64,
}

impl KeyChooser {
    /// A chooser over `n` keys (n >= 2) with `dist`; O(n) set-up for Zipf.
    pub fn new(n: usize, dist: Dist) -> Self {
        let theta = match dist {
            Dist::Zipf(t) => t,
            Dist::Uniform => 0.0,
        };
        let zeta = |m: usize| (1..=m).map(|i| 1.0 / (i as f64).powf(theta)).sum::<f64>();
        let zetan = zeta(n);
        let zeta2 = zeta(2);
        KeyChooser {
            n,
            dist,
            zetan,
            alpha: 1.0 / (1.0 - theta),
            eta: (1.0 - (2.0 / n as f64).powf(1.0 - theta)) / (1.0 - zeta2 / zetan),
            half_pow_theta: 0.5f64.powf(theta),
        }
    }

    /// The next key index.
    pub fn next(&self, rng: &mut Rng) -> usize {
        match self.dist {
            Dist::Uniform => rng.below(self.n),
            Dist::Zipf(_) => {
                let u = rng.unit();
                let uz = u * self.zetan;
                if uz < 1.0 {
                    return 0;
                }
                if uz < 1.0 + self.half_pow_theta {
                    return 1;
                }
                let r = (self.n as f64 * (self.eta * u - self.eta + 1.0).powf(self.alpha)) as usize;
                r.min(self.n - 1)
            }
        }
    }
}

/// The key set: `key:<index>` strings and each key's value size class.
#[derive(Debug)]
pub struct Keys {
    /// The keys' bytes.
    pub keys: Vec<Box<[u8]>>,
    /// Each key's size class (index into [`size_of_class`]).
    pub class: Vec<u8>,
}

impl Keys {
    /// `n` keys with sizes drawn once from a seeded generator.
    pub fn new(n: usize) -> Self {
        let mut rng = Rng::new(0x5eed);
        let keys = (0..n)
            .map(|i| format!("key:{i:010}").into_bytes().into_boxed_slice())
            .collect();
        let class = (0..n).map(|_| rng.below(SIZE_CLASSES) as u8).collect();
        Keys { keys, class }
    }
}

/// The value size of class `c`: log-spaced from [`VALUE_MIN`] to [`VALUE_MAX`].
pub fn size_of_class(c: usize) -> usize {
    let f = c as f64 / (SIZE_CLASSES - 1) as f64;
    (VALUE_MIN as f64 * (VALUE_MAX as f64 / VALUE_MIN as f64).powf(f)).round() as usize
}

/// The share of `draws` requests that go to the hottest 1% of keys (what the
/// report prints so the skew is seen, not assumed).
pub fn hot_share(chooser: &KeyChooser, n: usize, draws: usize) -> f64 {
    let mut rng = Rng::new(7);
    let top = (n / 100).max(1);
    let hot = (0..draws).filter(|_| chooser.next(&mut rng) < top).count();
    hot as f64 / draws as f64
}

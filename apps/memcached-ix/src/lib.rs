//! memcached-ix: a memcached that existing clients cannot tell from the real one, on libix.

#![forbid(unsafe_code)]

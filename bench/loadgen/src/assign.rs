//! Which servers each load thread connects to: every server (mutilate's default) or,
//! with `-R/--roundrobin`, mutilate's round-robin share.

/// The indices of the servers thread `t` of `threads` connects to, out of `servers`.
/// Default: all of them. Round-robin (mutilate's rule): servers `t`, `t + threads`,
/// `t + 2·threads`, ... below `servers`; a thread beyond the last server (`t >=
/// servers`) takes server `t mod servers`, so every thread has at least one.
/// Assumes `t < threads`.
pub fn servers_of_thread(servers: usize, threads: usize, t: usize, roundrobin: bool) -> Vec<usize> {
    if !roundrobin || servers == 0 {
        return (0..servers).collect();
    }
    let mut mine = Vec::new();
    let mut i = t % servers;
    while i < servers {
        mine.push(i);
        i += threads.max(1);
    }
    mine
}

/// Connections all `threads` open: `connections` per assigned server per thread
/// (mutilate's `lambda_denom` before `--lambda_mul`: `c × servers × threads`, or with
/// round robin `c × max(servers, threads)`).
pub fn total_connections(
    servers: usize,
    threads: usize,
    connections: usize,
    roundrobin: bool,
) -> usize {
    (0..threads.max(1))
        .map(|t| servers_of_thread(servers, threads, t, roundrobin).len() * connections)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_default_every_thread_connects_to_every_server() {
        for t in 0..4 {
            assert_eq!(servers_of_thread(3, 4, t, false), [0, 1, 2]);
        }
        assert_eq!(total_connections(3, 4, 2, false), 3 * 4 * 2);
    }

    #[test]
    fn round_robin_with_fewer_threads_than_servers() {
        let threads: Vec<Vec<usize>> = (0..2).map(|t| servers_of_thread(3, 2, t, true)).collect();
        assert_eq!(threads, [vec![0, 2], vec![1]]);
        assert_eq!(total_connections(3, 2, 1, true), 3, "each server once");
        assert_eq!(total_connections(3, 2, 5, true), 15);
    }

    #[test]
    fn round_robin_with_more_threads_than_servers() {
        let threads: Vec<Vec<usize>> = (0..4).map(|t| servers_of_thread(3, 4, t, true)).collect();
        assert_eq!(threads, [vec![0], vec![1], vec![2], vec![0]]);
        assert_eq!(total_connections(3, 4, 1, true), 4, "one server per thread");
        // Each server's share of the connections: server 0 has two threads' worth.
        let per_server = |s: usize| threads.iter().filter(|v| v.contains(&s)).count();
        assert_eq!((per_server(0), per_server(1), per_server(2)), (2, 1, 1));
    }

    #[test]
    fn round_robin_with_as_many_threads_as_servers_is_one_each() {
        for t in 0..3 {
            assert_eq!(servers_of_thread(3, 3, t, true), [t]);
        }
        assert_eq!(servers_of_thread(1, 1, 0, true), [0]);
    }
}

//! The command line: mutilate's names and defaults, refusals, the plan.

use super::*;

fn args(line: &str) -> Args {
    Args::try_parse_from(std::iter::once("ix-mutilate").chain(line.split_whitespace())).unwrap()
}

#[test]
fn mutilate_names_and_defaults() {
    let a = args("-s 127.0.0.1");
    assert_eq!(
        (a.qps, a.time, a.records, a.threads, a.connections, a.depth),
        (0, 5, 10000, 1, 1, 1)
    );
    assert_eq!(
        (a.keysize.as_str(), a.valuesize.as_str(), a.iadist.as_str()),
        ("30", "200", "exponential")
    );
    assert_eq!((a.agent_port, a.lambda_mul, a.update), (5556, 1, 0.0));
    let long = args(
        "--server a:1 --server b --qps 10 --time 2 --keysize fb_key --valuesize fb_value \
         --iadist fb_ia --records 5 --update 0.5 --threads 2 --connections 3 --depth 4 \
         --agent x --agent y:7 --measure_connections 2 --measure_qps 100 --measure_depth 1 \
         --lambda_mul 2 --noload --binary --scan 1:10:1",
    );
    assert_eq!(long.server, ["a:1", "b"]);
    assert_eq!(long.agent, ["x", "y:7"]);
    assert_eq!(
        (
            long.measure_connections,
            long.measure_qps,
            long.measure_depth
        ),
        (Some(2), Some(100), Some(1))
    );
    let short = args("-s h -q 1 -t 1 -K 10 -V 20 -i fixed -r 9 -u 0.1 -T 2 -c 2 -d 2 -w 1 -A -a z -C 1 -Q 5 -D 2 -l 3 -B");
    assert!(short.agentmode && short.blocking);
    assert_eq!(
        (
            short.keysize.as_str(),
            short.valuesize.as_str(),
            short.warmup
        ),
        ("10", "20", 1)
    );
}

#[test]
fn pacing_assignment_and_thread_options() {
    let a = args("-s 127.0.0.1");
    assert!(!(a.skip || a.moderate || a.roundrobin || a.no_nodelay || a.affinity));
    assert_eq!(a.wait, 0, "mutilate's -W default");
    let plan = a.master_plan().unwrap();
    assert!(plan.run.nodelay && !plan.run.skip && !plan.run.roundrobin);
    assert_eq!(plan.run.measure_not_before, None);

    let short = args("-s h -S -R -W 3 -w 1");
    assert!(short.skip && short.roundrobin);
    assert_eq!(
        (short.wait, short.warmup),
        (3, 1),
        "-W is the wait, -w the warm-up"
    );
    let long = args(
        "-s 127.0.0.1 -s 127.0.0.2 --skip --moderate --roundrobin --wait 2 --no_nodelay \
         --affinity -T 3",
    );
    assert!(long.skip && long.moderate && long.roundrobin && long.no_nodelay && long.affinity);
    let before = std::time::Instant::now();
    let plan = long.master_plan().unwrap();
    let r = &plan.run;
    assert!(r.skip && r.moderate && r.roundrobin && r.affinity && !r.nodelay);
    let wait = r.measure_not_before.unwrap().duration_since(before);
    assert!(wait >= std::time::Duration::from_secs(2), "{wait:?}");
    // The agents are told the options that shape their connections.
    let c = &plan.agent_config;
    assert!(c.skip && c.moderate && c.roundrobin && c.no_nodelay);
    // An agent keeps its own -T, --affinity and -W.
    let agent = args("-A -T 2 --affinity -W 1").agent_options().unwrap();
    assert!(agent.affinity && agent.measure_not_before.is_some());
}

#[test]
fn agent_config_from_an_older_master_has_the_new_options_off() {
    let old = r#"{"servers":["127.0.0.1:11211"],"binary":false,"keysize":"30",
        "valuesize":"200","records":10,"update":0.0,"connections":1,"depth":1,
        "iadist":"exponential","time_s":1.0,"warmup_s":0.0,"seed":1}"#;
    let c: AgentConfig = serde_json::from_str(old).unwrap();
    assert!(!(c.roundrobin || c.skip || c.moderate || c.no_nodelay));
}

#[test]
fn bad_values_are_refused_with_the_option_named() {
    for (line, word) in [
        ("-s 127.0.0.1 -d 0", "--depth"),
        ("-s 127.0.0.1 -u 2", "--update"),
        ("-s 127.0.0.1 -t 0", "--time"),
        ("-q 5", "--server"),
        ("-s 127.0.0.1 -K bogus", "--keysize"),
        ("-s 127.0.0.1 -i gev:1,2,0.1", "--iadist"),
        ("-s 127.0.0.1 --transport libix", "libix"),
        ("-s 127.0.0.1 --transport bogus", "--transport"),
        (
            "-s 127.0.0.1 --transport libix --ix-spec /x --no_nodelay",
            "--no_nodelay",
        ),
        (
            "-s 127.0.0.1 --transport libix --ix-spec /x --affinity",
            "--affinity",
        ),
    ] {
        let err = args(line).master_plan().unwrap_err().to_string();
        assert!(err.contains(word), "{line}: {err}");
    }
    assert!(
        parse_scan("1:10").is_err()
            && parse_scan("10:1:1").is_err()
            && parse_scan("1:10:0").is_err()
    );
    assert_eq!(parse_scan("1000:5000:1000").unwrap(), (1000, 5000, 1000));
    assert_eq!(parse_search("99:500").unwrap(), (99.0, 500.0));
    assert!(parse_search("100:5").is_err() && parse_search("x").is_err());
}

#[test]
fn servers_resolve_with_the_default_port_and_records_split() {
    assert_eq!(
        resolve_server("127.0.0.1").unwrap(),
        "127.0.0.1:11211".parse().unwrap()
    );
    assert_eq!(
        resolve_server("127.0.0.1:99").unwrap(),
        "127.0.0.1:99".parse().unwrap()
    );
    assert_eq!(resolve_server("localhost:99").unwrap().port(), 99);
    let plan = args("-s 127.0.0.1:1 -s 127.0.0.1:2 -r 1000")
        .master_plan()
        .unwrap();
    assert_eq!(plan.run.workload.records, 500);
    assert_eq!(plan.agent_config.servers, ["127.0.0.1:1", "127.0.0.1:2"]);
}

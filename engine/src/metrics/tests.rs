use super::process::{Figures, boot_time, max_open_files};
use super::*;

#[test]
fn counters_appear_under_their_names_with_labels() {
    let metrics = Metrics::default();
    metrics.received();
    metrics.rejected(Rejection::Greylisted);
    metrics.rejected(Rejection::Greylisted);
    metrics.login("imap", LoginResult::Failure);
    metrics.delivery_attempt(std::time::Duration::from_millis(120));
    let guard = metrics.connection("smtp");
    let totals = metrics.totals();
    assert_eq!((totals.received, totals.refused, totals.sent), (1, 2, 0));
    let text = metrics.encode(Scraped {
        queue_depth: 7,
        disk_available: 5 << 30,
    });
    assert!(
        text.contains("postern_messages_received_total 1\n"),
        "{text}"
    );
    assert!(
        text.contains("postern_messages_rejected_total{reason=\"greylisted\"} 2\n"),
        "{text}"
    );
    assert!(
        text.contains("postern_auth_attempts_total{protocol=\"imap\",result=\"failure\"} 1\n"),
        "{text}"
    );
    assert!(text.contains("postern_queue_depth 7\n"), "{text}");
    assert!(
        text.contains("postern_disk_available_bytes 5368709120\n"),
        "{text}"
    );
    assert!(
        text.contains("postern_active_connections{protocol=\"smtp\"} 1\n"),
        "{text}"
    );
    assert!(text.contains("postern_delivery_duration_seconds_count 1\n"));
    assert!(text.ends_with("# EOF\n"));
    drop(guard);
    let text = metrics.encode(Scraped::default());
    assert!(text.contains("postern_active_connections{protocol=\"smtp\"} 0\n"));
}

#[test]
fn recipient_refusals_are_told_apart_by_their_enhanced_codes() {
    let reply = |code, enhanced| proto_smtp::Reply::new(code, enhanced, "no");
    assert_eq!(
        Rejection::of_recipient(&reply(550, (5, 1, 1))),
        Rejection::UnknownRecipient
    );
    assert_eq!(
        Rejection::of_recipient(&reply(554, (5, 7, 1))),
        Rejection::RelayDenied
    );
    assert_eq!(
        Rejection::of_recipient(&reply(452, (4, 2, 2))),
        Rejection::OverQuota
    );
    assert_eq!(
        Rejection::of_recipient(&reply(501, (5, 1, 3))),
        Rejection::Recipient
    );
}

#[test]
fn proc_files_are_read_as_proc5_describes_them() {
    let mut figures = Figures::default();
    figures.status("Name:\tpostern\nVmSize:\t    3892 kB\nVmRSS:\t    2192 kB\nThreads:\t5\n");
    // A command name with a space and a parenthesis in it.
    let stat = "22729 (a b) c) R 22725 22725 21617 0 -1 4194304 102 0 0 0 250 150 0 0 20 0 1 0 \
                5968055 3133440 390";
    figures.stat(stat, Some(1_000_000));
    assert_eq!(figures.resident_bytes, Some(2192 * 1024));
    assert_eq!(figures.virtual_bytes, Some(3892 * 1024));
    assert_eq!(figures.threads, Some(5));
    assert_eq!(figures.cpu_seconds, Some(4.0));
    assert_eq!(figures.start_time, Some(1_000_000.0 + 59_680.55));
    assert_eq!(
        boot_time("cpu 1 2\nbtime 1796466298\n"),
        Some(1_796_466_298)
    );
    let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                  Max open files            20000                40000                files\n";
    assert_eq!(max_open_files(limits), Some(20000));
}

#[test]
fn this_process_is_described_on_linux() {
    let text = Metrics::default().encode(Scraped::default());
    if cfg!(target_os = "linux") {
        assert!(text.contains("process_resident_memory_bytes "), "{text}");
        assert!(text.contains("process_cpu_seconds_total "), "{text}");
    }
}

#[test]
fn the_grafana_dashboard_asks_only_for_metrics_that_exist() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/grafana-dashboard.json"
    );
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    // Families with labels show once they have a sample.
    let metrics = Metrics::default();
    metrics.rejected(Rejection::Loop);
    metrics.login("smtp", LoginResult::Success);
    let _connection = metrics.connection("smtp");
    let text = metrics.encode(Scraped::default());
    let exprs: Vec<&str> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|panel| panel["targets"].as_array().unwrap())
        .map(|target| target["expr"].as_str().unwrap())
        .collect();
    assert!(exprs.len() >= 10);
    for expr in exprs {
        // Each name in the expression that looks like a metric, without the suffixes
        // a query adds (`_bucket`) or a family with no sample yet leaves out.
        let names = expr
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|word| word.starts_with("postern_") || word.starts_with("process_"));
        for name in names {
            let family = name.trim_end_matches("_bucket").trim_end_matches("_total");
            assert!(
                text.contains(&format!("# TYPE {family} ")),
                "{name} in {expr:?} is not among the metrics"
            );
        }
    }
}

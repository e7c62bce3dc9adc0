//! Bans (`postern ban`): a banned address is told to try later as it connects, others are
//! served; bans outlast a restart and can be lifted.

mod common;

use common::{TestServer, run_python_source};

/// Connects to `service` from 127.0.0.2 (all of 127/8 is loopback) and prints the greeting.
const GREETING_FROM_OTHER_ADDRESS: &str = "import socket, sys\n\
     s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), 30, ('127.0.0.2', 0))\n\
     print('greeting:', s.makefile().readline().strip())\n";

fn greeting_from_other_address(server: &TestServer) -> Option<String> {
    let out = std::process::Command::new("python3")
        .args(["-c", GREETING_FROM_OTHER_ADDRESS])
        .arg(server.port("smtp").to_string())
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_banned_address_is_refused_until_the_ban_is_lifted() {
    let mut server = TestServer::start("");
    if !run_python_source(&server, "print('python works')", &[]) {
        return;
    }
    let added = server.cli(
        &["ban", "add", "127.0.0.2", "--for", "1h", "--reason", "test"],
        "",
    );
    assert!(added.contains("banned 127.0.0.2/32"), "{added}");
    let listed = server.cli(&["ban", "list"], "");
    assert!(
        listed.contains("127.0.0.2/32  until ") && listed.contains("test"),
        "{listed}"
    );

    let refused = greeting_from_other_address(&server).unwrap();
    assert!(refused.contains("greeting: 421 4.3.2"), "{refused}");
    let ours = std::net::TcpStream::connect(server.ports["smtp"]).unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(ours), &mut line).unwrap();
    assert!(line.starts_with("220 "), "others are served: {line}");

    server.stop();
    server.restart();
    let still = greeting_from_other_address(&server).unwrap();
    assert!(
        still.contains("greeting: 421"),
        "the ban outlasts a restart: {still}"
    );

    let lifted = server.cli(&["ban", "remove", "127.0.0.2"], "");
    assert!(lifted.contains("lifted"), "{lifted}");
    let served = greeting_from_other_address(&server).unwrap();
    assert!(served.contains("greeting: 220"), "{served}");
    assert!(
        server
            .cli(&["ban", "list"], "")
            .contains("no bans in force")
    );
}

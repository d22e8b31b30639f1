//! A test that needs nats-server and cannot find it fails, saying how to
//! install it: it never passes silently.

mod support;

use support::NatsServer;

#[test]
#[should_panic(expected = "apt-get install nats-server")]
fn a_missing_server_binary_fails_the_test_with_the_install_command() {
    NatsServer::start_from(None);
}

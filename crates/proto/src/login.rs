//! The client side of the login (docs/PROTOCOL.md §2), without I/O: `Hello` with the SCRAM
//! client-first-message, the MCU's `Challenge`, `Authenticate` with the proof, the MCU's
//! `LoginResult` with its signature. Every client (the SDK, testkit, the load generator)
//! drives this one state machine over its own socket.

use crate::pb::{self, client_message::Body, response};
use crate::scram::{ChannelBinding, ClientFinal, ClientFirst, ScramError};
use crate::{ErrorCode, PROTOCOL_VERSION};

/// Who logs in, and how.
pub struct LoginParams<'a> {
    pub client_name: &'a str,
    pub username: &'a str,
    pub password: &'a str,
    pub stream_demand: bool,
    /// Ask the MCU to keep the session across link cuts (docs/PROTOCOL.md §8).
    pub resumable: bool,
    /// The link: plain TCP, or TLS with its exporter.
    pub binding: ChannelBinding,
    /// Sent as `Hello.protocol_version` (tests of the version check change it).
    pub protocol_version: u32,
}

impl<'a> LoginParams<'a> {
    pub fn new(client_name: &'a str, username: &'a str, password: &'a str) -> Self {
        LoginParams {
            client_name,
            username,
            password,
            stream_demand: false,
            resumable: false,
            binding: ChannelBinding::None,
            protocol_version: PROTOCOL_VERSION,
        }
    }
}

enum Step {
    Challenged(ClientFirst),
    Proved(Option<ClientFinal>),
    Done,
}

/// One login in progress.
pub struct ClientLogin {
    password: String,
    tls: bool,
    step: Step,
    /// Known once logged in: the key a resume proves (derived, or sent after a legacy login).
    session_key: Option<[u8; 32]>,
}

/// What to do after a response.
#[derive(Debug)]
pub enum Next {
    /// Send this request (`Authenticate`) and feed its response back.
    Send(Body),
    /// Logged in.
    Done(pb::LoginResult),
}

impl ClientLogin {
    /// Starts a login; returns the `Hello` to send first (with any non-zero request id; the
    /// caller matches responses to its requests).
    pub fn start(params: &LoginParams<'_>) -> (ClientLogin, Body) {
        let (first, scram_first) = ClientFirst::start(params.username, params.binding);
        let hello = Body::Hello(pb::Hello {
            protocol_version: params.protocol_version,
            client_name: params.client_name.to_string(),
            stream_demand: params.stream_demand,
            scram_first,
            resumable: params.resumable,
            resume: None,
        });
        let login = ClientLogin {
            password: params.password.to_string(),
            tls: matches!(params.binding, ChannelBinding::TlsExporter(_)),
            step: Step::Challenged(first),
            session_key: None,
        };
        (login, hello)
    }

    /// The key that proves a resume of this login's session (after [`Next::Done`]).
    pub fn session_key(&self) -> Option<[u8; 32]> {
        self.session_key
    }

    /// The response to the request awaited. A refusal comes back as its code; a response
    /// that breaks the exchange as `MsgErr`, an MCU that cannot prove it holds the account's
    /// verifier as `ErrorAuthFailed`.
    pub fn on_response(&mut self, response: pb::Response) -> Result<Next, ErrorCode> {
        let step = std::mem::replace(&mut self.step, Step::Done);
        ErrorCode::check(response.code)?;
        match (step, response.result) {
            (Step::Challenged(first), Some(response::Result::Challenge(challenge))) => {
                let (last, authenticate) = if challenge.legacy {
                    // The password itself: only inside TLS (an MCU offering this on a plain
                    // link is not ours, or someone in between rewrote the challenge).
                    if !self.tls {
                        return Err(ErrorCode::ErrorAuthFailed);
                    }
                    let password = std::mem::take(&mut self.password);
                    (
                        None,
                        pb::Authenticate {
                            scram_final: String::new(),
                            password,
                            ..Default::default()
                        },
                    )
                } else {
                    let (last, scram_final) = first
                        .finish(&self.password, &challenge.scram_first)
                        .map_err(scram_code)?;
                    let authenticate = pb::Authenticate {
                        scram_final,
                        ..Default::default()
                    };
                    (Some(last), authenticate)
                };
                self.password.clear();
                self.step = Step::Proved(last);
                Ok(Next::Send(Body::Authenticate(authenticate)))
            }
            (Step::Proved(last), Some(response::Result::Login(login))) => {
                self.session_key = match last {
                    Some(last) => {
                        last.verify(&login.scram_final).map_err(scram_code)?;
                        Some(last.session_key())
                    }
                    None => <[u8; 32]>::try_from(&login.resume_key[..]).ok(),
                };
                Ok(Next::Done(login))
            }
            _ => Err(ErrorCode::MsgErr),
        }
    }
}

fn scram_code(error: ScramError) -> ErrorCode {
    match error {
        ScramError::BadServerSignature => ErrorCode::ErrorAuthFailed,
        ScramError::ServerError(_) | ScramError::BadProof => ErrorCode::UserPasswordErr,
        ScramError::Malformed
        | ScramError::NonceMismatch
        | ScramError::Iterations
        | ScramError::ChannelBinding => ErrorCode::MsgErr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scram::{ClientHello, ServerFirst, Verifier};

    fn challenge(scram_first: String, legacy: bool) -> pb::Response {
        pb::Response {
            request_id: 1,
            code: 0,
            result: Some(response::Result::Challenge(pb::Challenge {
                scram_first,
                legacy,
                ..Default::default()
            })),
        }
    }

    fn login_result(scram_final: String) -> pb::Response {
        pb::Response {
            request_id: 2,
            code: 0,
            result: Some(response::Result::Login(pb::LoginResult {
                user_id: 7,
                scram_final,
                ..Default::default()
            })),
        }
    }

    /// The client against the MCU's side of the exchange, `signature` replacing the server's
    /// final message when given.
    fn run(binding: ChannelBinding, signature: Option<&str>) -> Result<Next, ErrorCode> {
        let params = LoginParams {
            binding,
            ..LoginParams::new("test", "teacher", "pencil")
        };
        let (mut login, hello) = ClientLogin::start(&params);
        let Body::Hello(hello) = hello else {
            panic!("a Hello first")
        };
        assert_eq!(hello.protocol_version, PROTOCOL_VERSION);
        let client_first = ClientHello::parse(&hello.scram_first).unwrap();
        let verifier = Verifier::generate("pencil", crate::scram::MIN_ITERATIONS);
        let (server, server_first) = ServerFirst::start(client_first, verifier);
        let Next::Send(Body::Authenticate(auth)) =
            login.on_response(challenge(server_first, false))?
        else {
            panic!("Authenticate second")
        };
        assert!(auth.password.is_empty(), "no password in a SCRAM login");
        assert!(!auth.scram_final.contains("pencil"));
        let server_final = server.finish(&auth.scram_final, binding).unwrap();
        login.on_response(login_result(signature.map_or(server_final, str::to_string)))
    }

    #[test]
    fn a_scram_login_completes_and_checks_the_server() {
        assert!(matches!(run(ChannelBinding::None, None), Ok(Next::Done(l)) if l.user_id == 7));
        let tls = ChannelBinding::TlsExporter([9; 32]);
        assert!(matches!(run(tls, None), Ok(Next::Done(_))));
        assert_eq!(
            run(
                ChannelBinding::None,
                Some("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
            )
            .err(),
            Some(ErrorCode::ErrorAuthFailed)
        );
        assert_eq!(
            run(ChannelBinding::None, Some("")).err(),
            Some(ErrorCode::MsgErr)
        );
    }

    #[test]
    fn the_password_goes_only_into_tls_and_refusals_keep_their_code() {
        let plain = LoginParams::new("test", "teacher", "pencil");
        let (mut login, _) = ClientLogin::start(&plain);
        assert_eq!(
            login.on_response(challenge(String::new(), true)).err(),
            Some(ErrorCode::ErrorAuthFailed)
        );
        let tls = LoginParams {
            binding: ChannelBinding::TlsExporter([1; 32]),
            ..LoginParams::new("test", "teacher", "pencil")
        };
        let (mut login, _) = ClientLogin::start(&tls);
        let Ok(Next::Send(Body::Authenticate(auth))) =
            login.on_response(challenge(String::new(), true))
        else {
            panic!("a legacy challenge over TLS is answered");
        };
        assert_eq!(auth.password, "pencil");
        assert!(matches!(
            login.on_response(login_result(String::new())),
            Ok(Next::Done(_))
        ));

        let (mut login, _) = ClientLogin::start(&plain);
        let refused = pb::Response {
            request_id: 1,
            code: ErrorCode::ServerMismatch.code(),
            result: None,
        };
        assert_eq!(
            login.on_response(refused).err(),
            Some(ErrorCode::ServerMismatch)
        );
        let (mut login, _) = ClientLogin::start(&plain);
        assert_eq!(
            login.on_response(login_result(String::new())).err(),
            Some(ErrorCode::MsgErr),
            "a LoginResult before the challenge"
        );
    }
}

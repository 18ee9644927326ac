//! The vendor result codes (`ret_code_e`) that the SDK core and the MCU produce.
//!
//! Only the codes this implementation actually uses have a variant; any other value read
//! from the wire stays as [`ErrorCode::Other`], so nothing is lost on the way to the C caller,
//! which maps the number to its full `ret_code_e`.

macro_rules! error_codes {
    ($($variant:ident = $value:literal => $message:literal,)*) => {
        /// A failure, as a vendor result code. `retCode_Success` (0) is never an `ErrorCode`.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, thiserror::Error)]
        pub enum ErrorCode {
            $(#[error($message)] $variant,)*
            #[error("error code {0:#x}")]
            Other(u32),
        }

        impl ErrorCode {
            /// The numeric `ret_code_e` value.
            pub const fn code(self) -> u32 {
                match self {
                    $(ErrorCode::$variant => $value,)*
                    ErrorCode::Other(value) => value,
                }
            }

            /// `Ok(())` for `retCode_Success` (0), else the failure.
            pub const fn check(code: u32) -> Result<(), ErrorCode> {
                match code {
                    0 => Ok(()),
                    $($value => Err(ErrorCode::$variant),)*
                    other => Err(ErrorCode::Other(other)),
                }
            }
        }
    };
}

// The one table: variant, `ret_code_e` value, message. A duplicated value is an unreachable
// pattern in `check` (a warning, an error under clippy -D warnings).
error_codes! {
    False = 1 => "operation failed",
    ParamErr = 2 => "invalid parameter",
    InitErr = 3 => "library not initialised",
    InitedErr = 4 => "library already initialised",
    SockErr = 6 => "socket error",
    AddrErr = 7 => "invalid server address",
    PortErr = 8 => "invalid server port",
    SockCnntErr = 11 => "cannot connect to the server",
    SockSendErr = 14 => "socket send failed",
    SockRecvErr = 15 => "socket receive failed",
    MsgErr = 18 => "malformed message",
    QueueFullErr = 65 => "send queue full",
    OpNotSupport = 92 => "the other side does not offer the link security required (TLS)",
    IDEnrityErr = 94 => "the MCU's certificate does not match the configured pin",
    Timeout = 95 => "timed out",
    DataErr = 98 => "invalid data",
    NotLoginErr = 100 => "not logged in",
    ReloginedErr = 101 => "already logged in",
    StateErr = 102 => "wrong state for this operation",
    ThreadErr = 103 => "thread error",
    AccessErr = 105 => "access denied",
    UserPasswordErr = 106 => "wrong user name or password",
    Unknow = 1000 => "unknown error",
    Exception = 0x1002 => "internal exception",
    ServerInterErr = 0x1003 => "server internal error",
    NvalidSessionErr = 0x1004 => "the session is no longer valid here (resume refused, or the fleet moved the room)",
    NotFindUserErr = 0x1005 => "user not found",
    VerifiFailureErr = 0x1006 => "the MCU's certificate is expired or not yet valid",
    MuchVisitedErr = 0x100a => "too many requests",
    ServerMismatch = 0x10017 => "protocol version mismatch",
    RoomUnexist = 0x10014 => "room does not exist",
    RoomFull = 0x10015 => "room is full",
    ServerFull = 0x10019 => "the room is hosted by another MCU of the fleet (Response.redirect)",
    UserExist = 0x1001a => "user already logged in elsewhere",
    RoomOverdue = 0x1001d => "room is outside its opening time",
    RoomClosed = 0x1001e => "room closed",
    ServerCascadeFailure = 0x10021 => "the fleet cannot place the room now (coordination unavailable)",
    ServerStoped = 0x10023 => "server stopped",
    KickOut = 0x10029 => "kicked out of the room",
    StreamTypeMismatch = 0x1002b => "stream type mismatch",
    OutOfResources = 0x1002d => "out of resources",
    NetworkException = 0x1002e => "network exception",
    ErrorAuthFailed = 0x10035 => "the MCU failed to authenticate (certificate or login signature)",
    LongTimeNoReSponse = 0x10037 => "no response for a long time",
}

/// Result of an operation as it travels on the wire: 0 or an [`ErrorCode`].
pub fn result_code(result: Result<(), ErrorCode>) -> u32 {
    match result {
        Ok(()) => 0,
        Err(err) => err.code(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_match_the_vendor_table() {
        assert_eq!(ErrorCode::check(0), Ok(()));
        assert_eq!(ErrorCode::RoomUnexist.code(), 0x10014);
        assert_eq!(ErrorCode::Exception.code(), 0x1002);
        assert_eq!(ErrorCode::Unknow.code(), 1000);
        assert_eq!(ErrorCode::QueueFullErr.code(), 65);
        for code in 1..0x10040 {
            if let Err(err) = ErrorCode::check(code) {
                assert_eq!(err.code(), code);
            }
        }
        assert_eq!(ErrorCode::check(0x10038), Err(ErrorCode::Other(0x10038)));
        assert_eq!(result_code(Err(ErrorCode::KickOut)), 0x10029);
    }
}

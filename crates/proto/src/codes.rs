//! The vendor result codes (`ret_code_e`) that the SDK core and the MCU produce.
//!
//! Only the codes this implementation actually uses have a variant; any other value read
//! from the wire stays as [`ErrorCode::Other`], so nothing is lost on the way to the C caller,
//! which maps the number to its full `ret_code_e`.

/// A failure, as a vendor result code. `retCode_Success` (0) is never an `ErrorCode`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ErrorCode {
    #[error("operation failed")]
    False,
    #[error("invalid parameter")]
    ParamErr,
    #[error("library not initialised")]
    InitErr,
    #[error("library already initialised")]
    InitedErr,
    #[error("socket error")]
    SockErr,
    #[error("invalid server address")]
    AddrErr,
    #[error("invalid server port")]
    PortErr,
    #[error("cannot connect to the server")]
    SockCnntErr,
    #[error("socket send failed")]
    SockSendErr,
    #[error("socket receive failed")]
    SockRecvErr,
    #[error("malformed message")]
    MsgErr,
    #[error("send queue full")]
    QueueFullErr,
    #[error("the other side does not offer the link security required (TLS)")]
    OpNotSupport,
    #[error("the MCU's certificate does not match the configured pin")]
    IDEnrityErr,
    #[error("timed out")]
    Timeout,
    #[error("invalid data")]
    DataErr,
    #[error("not logged in")]
    NotLoginErr,
    #[error("already logged in")]
    ReloginedErr,
    #[error("wrong state for this operation")]
    StateErr,
    #[error("thread error")]
    ThreadErr,
    #[error("access denied")]
    AccessErr,
    #[error("wrong user name or password")]
    UserPasswordErr,
    #[error("unknown error")]
    Unknow,
    #[error("internal exception")]
    Exception,
    #[error("server internal error")]
    ServerInterErr,
    #[error("user not found")]
    NotFindUserErr,
    #[error("the MCU's certificate is expired or not yet valid")]
    VerifiFailureErr,
    #[error("too many requests")]
    MuchVisitedErr,
    #[error("protocol version mismatch")]
    ServerMismatch,
    #[error("room does not exist")]
    RoomUnexist,
    #[error("room is full")]
    RoomFull,
    #[error("user already logged in elsewhere")]
    UserExist,
    #[error("room is outside its opening time")]
    RoomOverdue,
    #[error("room closed")]
    RoomClosed,
    #[error("server stopped")]
    ServerStoped,
    #[error("kicked out of the room")]
    KickOut,
    #[error("stream type mismatch")]
    StreamTypeMismatch,
    #[error("out of resources")]
    OutOfResources,
    #[error("network exception")]
    NetworkException,
    #[error("the MCU failed to authenticate (certificate or login signature)")]
    ErrorAuthFailed,
    #[error("no response for a long time")]
    LongTimeNoReSponse,
    #[error("error code {0:#x}")]
    Other(u32),
}

macro_rules! code_table {
    ($($variant:ident = $value:expr),* $(,)?) => {
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

code_table! {
    False = 1,
    ParamErr = 2,
    InitErr = 3,
    InitedErr = 4,
    SockErr = 6,
    AddrErr = 7,
    PortErr = 8,
    SockCnntErr = 11,
    SockSendErr = 14,
    SockRecvErr = 15,
    MsgErr = 18,
    QueueFullErr = 65,
    OpNotSupport = 92,
    IDEnrityErr = 94,
    Timeout = 95,
    DataErr = 98,
    NotLoginErr = 100,
    ReloginedErr = 101,
    StateErr = 102,
    ThreadErr = 103,
    AccessErr = 105,
    UserPasswordErr = 106,
    Unknow = 1000,
    Exception = 0x1002,
    ServerInterErr = 0x1003,
    NotFindUserErr = 0x1005,
    VerifiFailureErr = 0x1006,
    MuchVisitedErr = 0x100a,
    ServerMismatch = 0x10017,
    RoomUnexist = 0x10014,
    RoomFull = 0x10015,
    UserExist = 0x1001a,
    RoomOverdue = 0x1001d,
    RoomClosed = 0x1001e,
    ServerStoped = 0x10023,
    KickOut = 0x10029,
    StreamTypeMismatch = 0x1002b,
    OutOfResources = 0x1002d,
    NetworkException = 0x1002e,
    ErrorAuthFailed = 0x10035,
    LongTimeNoReSponse = 0x10037,
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

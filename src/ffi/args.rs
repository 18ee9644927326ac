//! Checks of C input. Every failure here is `retCode_ParamErr` (a port: `retCode_PortErr`):
//! NULL or misaligned pointers, negative or over-limit lengths, strings without a NUL inside
//! their limit or not UTF-8, enum values outside the document's list, `ctrl` other than 0/1,
//! user ids that cannot name a user.

use std::ffi::{c_char, c_int};
use std::ptr::NonNull;

use conference_session::{DataType, InviteType, MediaType};

use super::types::ret_code_e;

const PARAM: ret_code_e = ret_code_e::retCode_ParamErr;

/// `&T` from an input pointer.
///
/// # Safety
/// `ptr` is NULL or points to a live, initialised `T` that outlives the returned reference.
pub unsafe fn input<'a, T>(ptr: *const T) -> Result<&'a T, ret_code_e> {
    if ptr.is_null() || !ptr.is_aligned() {
        return Err(PARAM);
    }
    // SAFETY: non-NULL and aligned; liveness is the caller's contract.
    Ok(unsafe { &*ptr })
}

/// An output pointer, checked now and written (with `NonNull::write`) only on success.
pub fn output<T>(ptr: *mut T) -> Result<NonNull<T>, ret_code_e> {
    match NonNull::new(ptr) {
        Some(ptr) if ptr.as_ptr().is_aligned() => Ok(ptr),
        _ => Err(PARAM),
    }
}

/// A NUL-terminated UTF-8 string of at most `max` bytes (NUL excluded).
///
/// # Safety
/// `ptr` is NULL or points to readable bytes up to its NUL or to `max + 1` bytes, whichever
/// comes first.
pub unsafe fn c_str<'a>(ptr: *const c_char, max: usize) -> Result<&'a str, ret_code_e> {
    if ptr.is_null() {
        return Err(PARAM);
    }
    let bytes = ptr.cast::<u8>();
    // A bounded scan: never reads past max + 1 bytes, even without a NUL.
    // SAFETY: each read is within the caller's contract above.
    let len = (0..=max)
        .find(|&i| unsafe { bytes.add(i).read() } == 0)
        .ok_or(PARAM)?;
    // SAFETY: the `len` bytes before the NUL were just read.
    let text = unsafe { std::slice::from_raw_parts(bytes, len) };
    std::str::from_utf8(text).map_err(|_| PARAM)
}

/// A buffer of `len` bytes, `0 <= len <= max`.
///
/// # Safety
/// `ptr` is NULL or points to at least `len` readable bytes.
pub unsafe fn bytes<'a>(
    ptr: *const c_char,
    len: c_int,
    max: usize,
) -> Result<&'a [u8], ret_code_e> {
    let len = usize::try_from(len).map_err(|_| PARAM)?;
    if ptr.is_null() || len > max {
        return Err(PARAM);
    }
    // SAFETY: non-NULL, and `len` bytes are readable by the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

/// The text of a fixed `char[N]` field: the bytes before its NUL, valid UTF-8.
pub fn fixed_str(field: &[c_char]) -> Result<&[u8], ret_code_e> {
    let len = field.iter().position(|&c| c == 0).ok_or(PARAM)?;
    // SAFETY: c_char and u8 have the same size and alignment.
    let text = unsafe { std::slice::from_raw_parts(field.as_ptr().cast::<u8>(), len) };
    std::str::from_utf8(text).map_err(|_| PARAM)?;
    Ok(text)
}

/// `ctrl`: 0 stop/refuse, 1 start/accept.
pub fn ctrl(value: c_int) -> Result<bool, ret_code_e> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(PARAM),
    }
}

/// A real user (or room) id: positive.
pub fn user_id(value: c_int) -> Result<u32, ret_code_e> {
    match u32::try_from(value) {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(PARAM),
    }
}

/// An id or a list position (`get_user_info`): any non-negative value.
pub fn id_or_position(value: c_int) -> Result<u32, ret_code_e> {
    u32::try_from(value).map_err(|_| PARAM)
}

/// A destination: a user id, or 0 for everyone in the room.
pub fn destination(value: c_int) -> Result<u32, ret_code_e> {
    u32::try_from(value).map_err(|_| PARAM)
}

/// A 0-based index.
pub fn index(value: c_int) -> Result<usize, ret_code_e> {
    usize::try_from(value).map_err(|_| PARAM)
}

/// `server_port`: 1..=65535, else `retCode_PortErr`.
pub fn port(value: c_int) -> Result<u16, ret_code_e> {
    match u16::try_from(value) {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(ret_code_e::retCode_PortErr),
    }
}

/// `conference_media_type_e`, read as an `int`.
pub fn media_type(value: c_int) -> Result<MediaType, ret_code_e> {
    u32::try_from(value)
        .ok()
        .and_then(MediaType::from_u32)
        .ok_or(PARAM)
}

/// `invite_type_e`, read as an `int`.
pub fn invite_type(value: c_int) -> Result<InviteType, ret_code_e> {
    match value {
        0 => Ok(InviteType::Video),
        1 => Ok(InviteType::Audio),
        _ => Err(PARAM),
    }
}

/// `send_transparent_data`'s `data_type`: 0 binary, 1 string.
pub fn data_type(value: c_int) -> Result<DataType, ret_code_e> {
    match value {
        0 => Ok(DataType::Binary),
        1 => Ok(DataType::String),
        _ => Err(PARAM),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_are_checked() {
        assert_eq!(ctrl(0), Ok(false));
        assert_eq!(ctrl(1), Ok(true));
        assert_eq!(ctrl(2), Err(PARAM));
        assert_eq!(ctrl(-1), Err(PARAM));
        assert_eq!(user_id(7), Ok(7));
        assert_eq!(user_id(0), Err(PARAM));
        assert_eq!(user_id(-3), Err(PARAM));
        assert_eq!(destination(0), Ok(0));
        assert_eq!(destination(-1), Err(PARAM));
        assert_eq!(port(1), Ok(1));
        assert_eq!(port(65535), Ok(65535));
        for bad in [0, -1, 65536, i32::MAX, i32::MIN] {
            assert_eq!(port(bad), Err(ret_code_e::retCode_PortErr));
        }
        assert_eq!(media_type(1), Ok(MediaType::Audio));
        assert_eq!(media_type(4), Ok(MediaType::VideoMinor2));
        for bad in [0, 5, -1, i32::MIN] {
            assert_eq!(media_type(bad), Err(PARAM));
        }
        assert_eq!(invite_type(1), Ok(InviteType::Audio));
        assert_eq!(invite_type(2), Err(PARAM));
        assert_eq!(data_type(1), Ok(DataType::String));
        assert_eq!(data_type(2), Err(PARAM));
        assert_eq!(index(0), Ok(0));
        assert_eq!(index(-1), Err(PARAM));
    }

    #[test]
    fn c_strings_are_bounded_and_utf8() {
        let ok = c"127.0.0.1";
        assert_eq!(unsafe { c_str(ok.as_ptr(), 9) }, Ok("127.0.0.1"));
        assert_eq!(unsafe { c_str(ok.as_ptr(), 8) }, Err(PARAM));
        assert_eq!(unsafe { c_str(std::ptr::null(), 8) }, Err(PARAM));
        let bad = [0xffu8 as c_char, 0];
        assert_eq!(unsafe { c_str(bad.as_ptr(), 8) }, Err(PARAM));
        // No NUL within the limit: the scan stops after max + 1 bytes.
        let unterminated = [b'a' as c_char; 4];
        assert_eq!(unsafe { c_str(unterminated.as_ptr(), 3) }, Err(PARAM));
    }

    #[test]
    fn buffers_check_null_sign_and_limit() {
        let data = [1 as c_char, 2, 3];
        assert_eq!(unsafe { bytes(data.as_ptr(), 3, 3) }, Ok(&[1u8, 2, 3][..]));
        assert_eq!(unsafe { bytes(data.as_ptr(), 0, 3) }, Ok(&[][..]));
        assert_eq!(unsafe { bytes(data.as_ptr(), 4, 3) }, Err(PARAM));
        assert_eq!(unsafe { bytes(data.as_ptr(), -1, 3) }, Err(PARAM));
        assert_eq!(unsafe { bytes(std::ptr::null(), 0, 3) }, Err(PARAM));
    }

    #[test]
    fn pointers_must_be_non_null_and_aligned() {
        let value = 5_i32;
        assert_eq!(unsafe { input(&value) }, Ok(&5));
        assert_eq!(unsafe { input::<i32>(std::ptr::null()) }, Err(PARAM));
        let words = [0_u32; 2];
        let misaligned = words.as_ptr().cast::<u8>().wrapping_add(1).cast::<u32>();
        assert_eq!(unsafe { input(misaligned) }, Err(PARAM));
        assert_eq!(output::<i32>(std::ptr::null_mut()), Err(PARAM));
        assert_eq!(output(misaligned.cast_mut()), Err(PARAM));
    }

    #[test]
    fn fixed_fields_need_a_nul_and_utf8() {
        let mut field = [0 as c_char; 4];
        field[0] = b'h' as c_char;
        field[1] = b'i' as c_char;
        assert_eq!(fixed_str(&field), Ok(&b"hi"[..]));
        assert_eq!(fixed_str(&[b'x' as c_char; 4]), Err(PARAM));
        assert_eq!(fixed_str(&[0xc3_u8 as c_char, 0]), Err(PARAM));
    }
}

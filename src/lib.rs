//! `libconference_sdk.so`: see README.md and docs/ARCHITECTURE.md.

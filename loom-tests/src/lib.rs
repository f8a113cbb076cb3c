//! Intentionally empty: the models live in `tests/` and only build with `--cfg loom`.

//! The library half of the `strongroom` binary: what is exercised outside the binary itself.
//! Today that is the config file's parser ([`config_file`]), which the fuzz targets drive.

pub mod config_file;

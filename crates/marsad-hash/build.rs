//! Compiles `csrc/jpeg.c`, the JPEG decoder over the system's libjpeg-turbo
//! (Debian: `libjpeg62-turbo-dev`), and links that library.

fn main() {
    println!("cargo:rerun-if-changed=csrc/jpeg.c");
    let mut build = cc::Build::new();
    build.file("csrc/jpeg.c").warnings(true);
    match pkg_config::Config::new().cargo_metadata(true).probe("libjpeg") {
        Ok(lib) => {
            for dir in lib.include_paths {
                build.include(dir);
            }
        }
        // Debian's libjpeg62-turbo-dev ships its .pc file; without one, the
        // library is found on the default paths.
        Err(_) => println!("cargo:rustc-link-lib=jpeg"),
    }
    build.compile("marsad_jpeg");
}

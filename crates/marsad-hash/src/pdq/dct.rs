//! Everything after the 64×64 downsample: the quality metric, the 16×16
//! DCT, the median threshold and the dihedral sign/transpose tricks. All
//! float32, in the reference's order of operations.

use super::PdqHash;

/// Bit patterns of the reference's 16×64 DCT matrix, row-major:
/// `D[i][j] = f32(f64(f32(sqrt(2 / 64))) * cos(pi / 2 / 64 * (i + 1) * (2 j + 1)))`.
/// Stored as bits so that the values do not depend on the platform's `cos`;
/// `dct_matrix_matches_formula` checks them against the formula.
const DCT_BITS: [u32; 16 * 64] = [
    0x3e34f6fe, 0x3e348763, 0x3e33a872, 0x3e325ab4, 0x3e309ef6, 0x3e2e764c, 0x3e2be20a, 0x3e28e3c6,
    0x3e257d59, 0x3e21b0dd, 0x3e1d80a8, 0x3e18ef51, 0x3e13ffa8, 0x3e0eb4b9, 0x3e0911c7, 0x3e031a4c,
    0x3df9a3ed, 0x3dec794d, 0x3ddebcd5, 0x3dd076ff, 0x3dc1b098, 0x3db272bd, 0x3da2c6d5, 0x3d92b689,
    0x3d824bc1, 0x3d63213d, 0x3d411ee4, 0x3d1ea570, 0x3cf7944a, 0x3cb14504, 0x3c5510d4, 0x3b8e2871,
    0xbb8e2871, 0xbc5510d4, 0xbcb14504, 0xbcf7944a, 0xbd1ea570, 0xbd411ee4, 0xbd63213d, 0xbd824bc1,
    0xbd92b689, 0xbda2c6d5, 0xbdb272bd, 0xbdc1b098, 0xbdd076ff, 0xbddebcd5, 0xbdec794d, 0xbdf9a3ed,
    0xbe031a4c, 0xbe0911c7, 0xbe0eb4b9, 0xbe13ffa8, 0xbe18ef51, 0xbe1d80a8, 0xbe21b0dd, 0xbe257d59,
    0xbe28e3c6, 0xbe2be20a, 0xbe2e764c, 0xbe309ef6, 0xbe325ab4, 0xbe33a872, 0xbe348763, 0xbe34f6fe,
    0x3e34cd21, 0x3e330f61, 0x3e2f982b, 0x3e2a700c, 0x3e23a3b9, 0x3e1b43f5, 0x3e116566, 0x3e062061,
    0x3df3215c, 0x3dd7aa8b, 0x3dba2005, 0x3d9aca9e, 0x3d73ef2f, 0x3d2fefbb, 0x3cd47d09, 0x3c0e1d7b,
    0xbc0e1d7b, 0xbcd47d09, 0xbd2fefbb, 0xbd73ef2f, 0xbd9aca9e, 0xbdba2005, 0xbdd7aa8b, 0xbdf3215c,
    0xbe062061, 0xbe116566, 0xbe1b43f5, 0xbe23a3b9, 0xbe2a700c, 0xbe2f982b, 0xbe330f61, 0xbe34cd21,
    0xbe34cd21, 0xbe330f61, 0xbe2f982b, 0xbe2a700c, 0xbe23a3b9, 0xbe1b43f5, 0xbe116566, 0xbe062061,
    0xbdf3215c, 0xbdd7aa8b, 0xbdba2005, 0xbd9aca9e, 0xbd73ef2f, 0xbd2fefbb, 0xbcd47d09, 0xbc0e1d7b,
    0x3c0e1d7b, 0x3cd47d09, 0x3d2fefbb, 0x3d73ef2f, 0x3d9aca9e, 0x3dba2005, 0x3dd7aa8b, 0x3df3215c,
    0x3e062061, 0x3e116566, 0x3e1b43f5, 0x3e23a3b9, 0x3e2a700c, 0x3e2f982b, 0x3e330f61, 0x3e34cd21,
    0x3e348763, 0x3e309ef6, 0x3e28e3c6, 0x3e1d80a8, 0x3e0eb4b9, 0x3df9a3ed, 0x3dd076ff, 0x3da2c6d5,
    0x3d63213d, 0x3cf7944a, 0x3b8e2871, 0xbcb14504, 0xbd411ee4, 0xbd92b689, 0xbdc1b098, 0xbdec794d,
    0xbe0911c7, 0xbe18ef51, 0xbe257d59, 0xbe2e764c, 0xbe33a872, 0xbe34f6fe, 0xbe325ab4, 0xbe2be20a,
    0xbe21b0dd, 0xbe13ffa8, 0xbe031a4c, 0xbddebcd5, 0xbdb272bd, 0xbd824bc1, 0xbd1ea570, 0xbc5510d4,
    0x3c5510d4, 0x3d1ea570, 0x3d824bc1, 0x3db272bd, 0x3ddebcd5, 0x3e031a4c, 0x3e13ffa8, 0x3e21b0dd,
    0x3e2be20a, 0x3e325ab4, 0x3e34f6fe, 0x3e33a872, 0x3e2e764c, 0x3e257d59, 0x3e18ef51, 0x3e0911c7,
    0x3dec794d, 0x3dc1b098, 0x3d92b689, 0x3d411ee4, 0x3cb14504, 0xbb8e2871, 0xbcf7944a, 0xbd63213d,
    0xbda2c6d5, 0xbdd076ff, 0xbdf9a3ed, 0xbe0eb4b9, 0xbe1d80a8, 0xbe28e3c6, 0xbe309ef6, 0xbe348763,
    0x3e3425ce, 0x3e2d3986, 0x3e1fa512, 0x3e0bee0a, 0x3de5acc6, 0x3daaa9f2, 0x3d523045, 0x3c8df1a9,
    0xbc8df1a9, 0xbd523045, 0xbdaaa9f2, 0xbde5acc6, 0xbe0bee0a, 0xbe1fa512, 0xbe2d3986, 0xbe3425ce,
    0xbe3425ce, 0xbe2d3986, 0xbe1fa512, 0xbe0bee0a, 0xbde5acc6, 0xbdaaa9f2, 0xbd523045, 0xbc8df1a9,
    0x3c8df1a9, 0x3d523045, 0x3daaa9f2, 0x3de5acc6, 0x3e0bee0a, 0x3e1fa512, 0x3e2d3986, 0x3e3425ce,
    0x3e3425ce, 0x3e2d3986, 0x3e1fa512, 0x3e0bee0a, 0x3de5acc6, 0x3daaa9f2, 0x3d523045, 0x3c8df1a9,
    0xbc8df1a9, 0xbd523045, 0xbdaaa9f2, 0xbde5acc6, 0xbe0bee0a, 0xbe1fa512, 0xbe2d3986, 0xbe3425ce,
    0xbe3425ce, 0xbe2d3986, 0xbe1fa512, 0xbe0bee0a, 0xbde5acc6, 0xbdaaa9f2, 0xbd523045, 0xbc8df1a9,
    0x3c8df1a9, 0x3d523045, 0x3daaa9f2, 0x3de5acc6, 0x3e0bee0a, 0x3e1fa512, 0x3e2d3986, 0x3e3425ce,
    0x3e33a872, 0x3e28e3c6, 0x3e13ffa8, 0x3dec794d, 0x3da2c6d5, 0x3d1ea570, 0xbb8e2871, 0xbd411ee4,
    0xbdb272bd, 0xbdf9a3ed, 0xbe18ef51, 0xbe2be20a, 0xbe348763, 0xbe325ab4, 0xbe257d59, 0xbe0eb4b9,
    0xbddebcd5, 0xbd92b689, 0xbcf7944a, 0x3c5510d4, 0x3d63213d, 0x3dc1b098, 0x3e031a4c, 0x3e1d80a8,
    0x3e2e764c, 0x3e34f6fe, 0x3e309ef6, 0x3e21b0dd, 0x3e0911c7, 0x3dd076ff, 0x3d824bc1, 0x3cb14504,
    0xbcb14504, 0xbd824bc1, 0xbdd076ff, 0xbe0911c7, 0xbe21b0dd, 0xbe309ef6, 0xbe34f6fe, 0xbe2e764c,
    0xbe1d80a8, 0xbe031a4c, 0xbdc1b098, 0xbd63213d, 0xbc5510d4, 0x3cf7944a, 0x3d92b689, 0x3ddebcd5,
    0x3e0eb4b9, 0x3e257d59, 0x3e325ab4, 0x3e348763, 0x3e2be20a, 0x3e18ef51, 0x3df9a3ed, 0x3db272bd,
    0x3d411ee4, 0x3b8e2871, 0xbd1ea570, 0xbda2c6d5, 0xbdec794d, 0xbe13ffa8, 0xbe28e3c6, 0xbe33a872,
    0x3e330f61, 0x3e23a3b9, 0x3e062061, 0x3dba2005, 0x3d2fefbb, 0xbc0e1d7b, 0xbd73ef2f, 0xbdd7aa8b,
    0xbe116566, 0xbe2a700c, 0xbe34cd21, 0xbe2f982b, 0xbe1b43f5, 0xbdf3215c, 0xbd9aca9e, 0xbcd47d09,
    0x3cd47d09, 0x3d9aca9e, 0x3df3215c, 0x3e1b43f5, 0x3e2f982b, 0x3e34cd21, 0x3e2a700c, 0x3e116566,
    0x3dd7aa8b, 0x3d73ef2f, 0x3c0e1d7b, 0xbd2fefbb, 0xbdba2005, 0xbe062061, 0xbe23a3b9, 0xbe330f61,
    0xbe330f61, 0xbe23a3b9, 0xbe062061, 0xbdba2005, 0xbd2fefbb, 0x3c0e1d7b, 0x3d73ef2f, 0x3dd7aa8b,
    0x3e116566, 0x3e2a700c, 0x3e34cd21, 0x3e2f982b, 0x3e1b43f5, 0x3df3215c, 0x3d9aca9e, 0x3cd47d09,
    0xbcd47d09, 0xbd9aca9e, 0xbdf3215c, 0xbe1b43f5, 0xbe2f982b, 0xbe34cd21, 0xbe2a700c, 0xbe116566,
    0xbdd7aa8b, 0xbd73ef2f, 0xbc0e1d7b, 0x3d2fefbb, 0x3dba2005, 0x3e062061, 0x3e23a3b9, 0x3e330f61,
    0x3e325ab4, 0x3e1d80a8, 0x3dec794d, 0x3d824bc1, 0x3b8e2871, 0xbd63213d, 0xbddebcd5, 0xbe18ef51,
    0xbe309ef6, 0xbe33a872, 0xbe21b0dd, 0xbdf9a3ed, 0xbd92b689, 0xbc5510d4, 0x3d411ee4, 0x3dd076ff,
    0x3e13ffa8, 0x3e2e764c, 0x3e348763, 0x3e257d59, 0x3e031a4c, 0x3da2c6d5, 0x3cb14504, 0xbd1ea570,
    0xbdc1b098, 0xbe0eb4b9, 0xbe2be20a, 0xbe34f6fe, 0xbe28e3c6, 0xbe0911c7, 0xbdb272bd, 0xbcf7944a,
    0x3cf7944a, 0x3db272bd, 0x3e0911c7, 0x3e28e3c6, 0x3e34f6fe, 0x3e2be20a, 0x3e0eb4b9, 0x3dc1b098,
    0x3d1ea570, 0xbcb14504, 0xbda2c6d5, 0xbe031a4c, 0xbe257d59, 0xbe348763, 0xbe2e764c, 0xbe13ffa8,
    0xbdd076ff, 0xbd411ee4, 0x3c5510d4, 0x3d92b689, 0x3df9a3ed, 0x3e21b0dd, 0x3e33a872, 0x3e309ef6,
    0x3e18ef51, 0x3ddebcd5, 0x3d63213d, 0xbb8e2871, 0xbd824bc1, 0xbdec794d, 0xbe1d80a8, 0xbe325ab4,
    0x3e318a85, 0x3e168317, 0x3dc9234e, 0x3d0d42af, 0xbd0d42af, 0xbdc9234e, 0xbe168317, 0xbe318a85,
    0xbe318a85, 0xbe168317, 0xbdc9234e, 0xbd0d42af, 0x3d0d42af, 0x3dc9234e, 0x3e168317, 0x3e318a85,
    0x3e318a85, 0x3e168317, 0x3dc9234e, 0x3d0d42af, 0xbd0d42af, 0xbdc9234e, 0xbe168317, 0xbe318a85,
    0xbe318a85, 0xbe168317, 0xbdc9234e, 0xbd0d42af, 0x3d0d42af, 0x3dc9234e, 0x3e168317, 0x3e318a85,
    0x3e318a85, 0x3e168317, 0x3dc9234e, 0x3d0d42af, 0xbd0d42af, 0xbdc9234e, 0xbe168317, 0xbe318a85,
    0xbe318a85, 0xbe168317, 0xbdc9234e, 0xbd0d42af, 0x3d0d42af, 0x3dc9234e, 0x3e168317, 0x3e318a85,
    0x3e318a85, 0x3e168317, 0x3dc9234e, 0x3d0d42af, 0xbd0d42af, 0xbdc9234e, 0xbe168317, 0xbe318a85,
    0xbe318a85, 0xbe168317, 0xbdc9234e, 0xbd0d42af, 0x3d0d42af, 0x3dc9234e, 0x3e168317, 0x3e318a85,
    0x3e309ef6, 0x3e0eb4b9, 0x3da2c6d5, 0x3b8e2871, 0xbd92b689, 0xbe0911c7, 0xbe2e764c, 0xbe325ab4,
    0xbe13ffa8, 0xbdb272bd, 0xbc5510d4, 0x3d824bc1, 0x3e031a4c, 0x3e2be20a, 0x3e33a872, 0x3e18ef51,
    0x3dc1b098, 0x3cb14504, 0xbd63213d, 0xbdf9a3ed, 0xbe28e3c6, 0xbe348763, 0xbe1d80a8, 0xbdd076ff,
    0xbcf7944a, 0x3d411ee4, 0x3dec794d, 0x3e257d59, 0x3e34f6fe, 0x3e21b0dd, 0x3ddebcd5, 0x3d1ea570,
    0xbd1ea570, 0xbddebcd5, 0xbe21b0dd, 0xbe34f6fe, 0xbe257d59, 0xbdec794d, 0xbd411ee4, 0x3cf7944a,
    0x3dd076ff, 0x3e1d80a8, 0x3e348763, 0x3e28e3c6, 0x3df9a3ed, 0x3d63213d, 0xbcb14504, 0xbdc1b098,
    0xbe18ef51, 0xbe33a872, 0xbe2be20a, 0xbe031a4c, 0xbd824bc1, 0x3c5510d4, 0x3db272bd, 0x3e13ffa8,
    0x3e325ab4, 0x3e2e764c, 0x3e0911c7, 0x3d92b689, 0xbb8e2871, 0xbda2c6d5, 0xbe0eb4b9, 0xbe309ef6,
    0x3e2f982b, 0x3e062061, 0x3d73ef2f, 0xbcd47d09, 0xbdd7aa8b, 0xbe23a3b9, 0xbe34cd21, 0xbe1b43f5,
    0xbdba2005, 0xbc0e1d7b, 0x3d9aca9e, 0x3e116566, 0x3e330f61, 0x3e2a700c, 0x3df3215c, 0x3d2fefbb,
    0xbd2fefbb, 0xbdf3215c, 0xbe2a700c, 0xbe330f61, 0xbe116566, 0xbd9aca9e, 0x3c0e1d7b, 0x3dba2005,
    0x3e1b43f5, 0x3e34cd21, 0x3e23a3b9, 0x3dd7aa8b, 0x3cd47d09, 0xbd73ef2f, 0xbe062061, 0xbe2f982b,
    0xbe2f982b, 0xbe062061, 0xbd73ef2f, 0x3cd47d09, 0x3dd7aa8b, 0x3e23a3b9, 0x3e34cd21, 0x3e1b43f5,
    0x3dba2005, 0x3c0e1d7b, 0xbd9aca9e, 0xbe116566, 0xbe330f61, 0xbe2a700c, 0xbdf3215c, 0xbd2fefbb,
    0x3d2fefbb, 0x3df3215c, 0x3e2a700c, 0x3e330f61, 0x3e116566, 0x3d9aca9e, 0xbc0e1d7b, 0xbdba2005,
    0xbe1b43f5, 0xbe34cd21, 0xbe23a3b9, 0xbdd7aa8b, 0xbcd47d09, 0x3d73ef2f, 0x3e062061, 0x3e2f982b,
    0x3e2e764c, 0x3df9a3ed, 0x3d1ea570, 0xbd63213d, 0xbe0911c7, 0xbe325ab4, 0xbe28e3c6, 0xbddebcd5,
    0xbcb14504, 0x3d92b689, 0x3e13ffa8, 0x3e348763, 0x3e21b0dd, 0x3dc1b098, 0x3b8e2871, 0xbdb272bd,
    0xbe1d80a8, 0xbe34f6fe, 0xbe18ef51, 0xbda2c6d5, 0x3c5510d4, 0x3dd076ff, 0x3e257d59, 0x3e33a872,
    0x3e0eb4b9, 0x3d824bc1, 0xbcf7944a, 0xbdec794d, 0xbe2be20a, 0xbe309ef6, 0xbe031a4c, 0xbd411ee4,
    0x3d411ee4, 0x3e031a4c, 0x3e309ef6, 0x3e2be20a, 0x3dec794d, 0x3cf7944a, 0xbd824bc1, 0xbe0eb4b9,
    0xbe33a872, 0xbe257d59, 0xbdd076ff, 0xbc5510d4, 0x3da2c6d5, 0x3e18ef51, 0x3e34f6fe, 0x3e1d80a8,
    0x3db272bd, 0xbb8e2871, 0xbdc1b098, 0xbe21b0dd, 0xbe348763, 0xbe13ffa8, 0xbd92b689, 0x3cb14504,
    0x3ddebcd5, 0x3e28e3c6, 0x3e325ab4, 0x3e0911c7, 0x3d63213d, 0xbd1ea570, 0xbdf9a3ed, 0xbe2e764c,
    0x3e2d3986, 0x3de5acc6, 0x3c8df1a9, 0xbdaaa9f2, 0xbe1fa512, 0xbe3425ce, 0xbe0bee0a, 0xbd523045,
    0x3d523045, 0x3e0bee0a, 0x3e3425ce, 0x3e1fa512, 0x3daaa9f2, 0xbc8df1a9, 0xbde5acc6, 0xbe2d3986,
    0xbe2d3986, 0xbde5acc6, 0xbc8df1a9, 0x3daaa9f2, 0x3e1fa512, 0x3e3425ce, 0x3e0bee0a, 0x3d523045,
    0xbd523045, 0xbe0bee0a, 0xbe3425ce, 0xbe1fa512, 0xbdaaa9f2, 0x3c8df1a9, 0x3de5acc6, 0x3e2d3986,
    0x3e2d3986, 0x3de5acc6, 0x3c8df1a9, 0xbdaaa9f2, 0xbe1fa512, 0xbe3425ce, 0xbe0bee0a, 0xbd523045,
    0x3d523045, 0x3e0bee0a, 0x3e3425ce, 0x3e1fa512, 0x3daaa9f2, 0xbc8df1a9, 0xbde5acc6, 0xbe2d3986,
    0xbe2d3986, 0xbde5acc6, 0xbc8df1a9, 0x3daaa9f2, 0x3e1fa512, 0x3e3425ce, 0x3e0bee0a, 0x3d523045,
    0xbd523045, 0xbe0bee0a, 0xbe3425ce, 0xbe1fa512, 0xbdaaa9f2, 0x3c8df1a9, 0x3de5acc6, 0x3e2d3986,
    0x3e2be20a, 0x3dd076ff, 0xbb8e2871, 0xbddebcd5, 0xbe2e764c, 0xbe28e3c6, 0xbdc1b098, 0x3c5510d4,
    0x3dec794d, 0x3e309ef6, 0x3e257d59, 0x3db272bd, 0xbcb14504, 0xbdf9a3ed, 0xbe325ab4, 0xbe21b0dd,
    0xbda2c6d5, 0x3cf7944a, 0x3e031a4c, 0x3e33a872, 0x3e1d80a8, 0x3d92b689, 0xbd1ea570, 0xbe0911c7,
    0xbe348763, 0xbe18ef51, 0xbd824bc1, 0x3d411ee4, 0x3e0eb4b9, 0x3e34f6fe, 0x3e13ffa8, 0x3d63213d,
    0xbd63213d, 0xbe13ffa8, 0xbe34f6fe, 0xbe0eb4b9, 0xbd411ee4, 0x3d824bc1, 0x3e18ef51, 0x3e348763,
    0x3e0911c7, 0x3d1ea570, 0xbd92b689, 0xbe1d80a8, 0xbe33a872, 0xbe031a4c, 0xbcf7944a, 0x3da2c6d5,
    0x3e21b0dd, 0x3e325ab4, 0x3df9a3ed, 0x3cb14504, 0xbdb272bd, 0xbe257d59, 0xbe309ef6, 0xbdec794d,
    0xbc5510d4, 0x3dc1b098, 0x3e28e3c6, 0x3e2e764c, 0x3ddebcd5, 0x3b8e2871, 0xbdd076ff, 0xbe2be20a,
    0x3e2a700c, 0x3dba2005, 0xbcd47d09, 0xbe062061, 0xbe34cd21, 0xbe116566, 0xbd2fefbb, 0x3d9aca9e,
    0x3e23a3b9, 0x3e2f982b, 0x3dd7aa8b, 0xbc0e1d7b, 0xbdf3215c, 0xbe330f61, 0xbe1b43f5, 0xbd73ef2f,
    0x3d73ef2f, 0x3e1b43f5, 0x3e330f61, 0x3df3215c, 0x3c0e1d7b, 0xbdd7aa8b, 0xbe2f982b, 0xbe23a3b9,
    0xbd9aca9e, 0x3d2fefbb, 0x3e116566, 0x3e34cd21, 0x3e062061, 0x3cd47d09, 0xbdba2005, 0xbe2a700c,
    0xbe2a700c, 0xbdba2005, 0x3cd47d09, 0x3e062061, 0x3e34cd21, 0x3e116566, 0x3d2fefbb, 0xbd9aca9e,
    0xbe23a3b9, 0xbe2f982b, 0xbdd7aa8b, 0x3c0e1d7b, 0x3df3215c, 0x3e330f61, 0x3e1b43f5, 0x3d73ef2f,
    0xbd73ef2f, 0xbe1b43f5, 0xbe330f61, 0xbdf3215c, 0xbc0e1d7b, 0x3dd7aa8b, 0x3e2f982b, 0x3e23a3b9,
    0x3d9aca9e, 0xbd2fefbb, 0xbe116566, 0xbe34cd21, 0xbe062061, 0xbcd47d09, 0x3dba2005, 0x3e2a700c,
    0x3e28e3c6, 0x3da2c6d5, 0xbd411ee4, 0xbe18ef51, 0xbe325ab4, 0xbddebcd5, 0x3c5510d4, 0x3e031a4c,
    0x3e34f6fe, 0x3e0911c7, 0x3cb14504, 0xbdd076ff, 0xbe309ef6, 0xbe1d80a8, 0xbd63213d, 0x3d92b689,
    0x3e257d59, 0x3e2be20a, 0x3db272bd, 0xbd1ea570, 0xbe13ffa8, 0xbe33a872, 0xbdec794d, 0x3b8e2871,
    0x3df9a3ed, 0x3e348763, 0x3e0eb4b9, 0x3cf7944a, 0xbdc1b098, 0xbe2e764c, 0xbe21b0dd, 0xbd824bc1,
    0x3d824bc1, 0x3e21b0dd, 0x3e2e764c, 0x3dc1b098, 0xbcf7944a, 0xbe0eb4b9, 0xbe348763, 0xbdf9a3ed,
    0xbb8e2871, 0x3dec794d, 0x3e33a872, 0x3e13ffa8, 0x3d1ea570, 0xbdb272bd, 0xbe2be20a, 0xbe257d59,
    0xbd92b689, 0x3d63213d, 0x3e1d80a8, 0x3e309ef6, 0x3dd076ff, 0xbcb14504, 0xbe0911c7, 0xbe34f6fe,
    0xbe031a4c, 0xbc5510d4, 0x3ddebcd5, 0x3e325ab4, 0x3e18ef51, 0x3d411ee4, 0xbda2c6d5, 0xbe28e3c6,
    0x3e273d74, 0x3d8a8bd4, 0xbd8a8bd4, 0xbe273d74, 0xbe273d74, 0xbd8a8bd4, 0x3d8a8bd4, 0x3e273d74,
    0x3e273d74, 0x3d8a8bd4, 0xbd8a8bd4, 0xbe273d74, 0xbe273d74, 0xbd8a8bd4, 0x3d8a8bd4, 0x3e273d74,
    0x3e273d74, 0x3d8a8bd4, 0xbd8a8bd4, 0xbe273d74, 0xbe273d74, 0xbd8a8bd4, 0x3d8a8bd4, 0x3e273d74,
    0x3e273d74, 0x3d8a8bd4, 0xbd8a8bd4, 0xbe273d74, 0xbe273d74, 0xbd8a8bd4, 0x3d8a8bd4, 0x3e273d74,
    0x3e273d74, 0x3d8a8bd4, 0xbd8a8bd4, 0xbe273d74, 0xbe273d74, 0xbd8a8bd4, 0x3d8a8bd4, 0x3e273d74,
    0x3e273d74, 0x3d8a8bd4, 0xbd8a8bd4, 0xbe273d74, 0xbe273d74, 0xbd8a8bd4, 0x3d8a8bd4, 0x3e273d74,
    0x3e273d74, 0x3d8a8bd4, 0xbd8a8bd4, 0xbe273d74, 0xbe273d74, 0xbd8a8bd4, 0x3d8a8bd4, 0x3e273d74,
    0x3e273d74, 0x3d8a8bd4, 0xbd8a8bd4, 0xbe273d74, 0xbe273d74, 0xbd8a8bd4, 0x3d8a8bd4, 0x3e273d74,
];

/// The DCT matrix as `f32`, row `i` is frequency `i + 1`.
pub(crate) static DCT: [[f32; 64]; 16] = {
    let mut m = [[0f32; 64]; 16];
    let mut i = 0;
    while i < 16 {
        let mut j = 0;
        while j < 64 {
            m[i][j] = f32::from_bits(DCT_BITS[i * 64 + j]);
            j += 1;
        }
        i += 1;
    }
    m
};

/// The DCT matrix transposed (`DCT_T[k][j] == DCT[j][k]`), for the second
/// product.
static DCT_T: [[f32; 16]; 64] = {
    let mut m = [[0f32; 16]; 64];
    let mut i = 0;
    while i < 16 {
        let mut j = 0;
        while j < 64 {
            m[j][i] = f32::from_bits(DCT_BITS[i * 64 + j]);
            j += 1;
        }
        i += 1;
    }
    m
};

/// The reference's image-domain quality metric on the 64×64 downsample:
/// quantised vertical and horizontal differences, summed, divided by 90,
/// capped at 100.
pub(crate) fn quality(a: &[[f32; 64]; 64]) -> u8 {
    // `(int)(((u - v) * 100) / 255)`: float multiply, float divide, then
    // truncation towards zero.
    fn step(u: f32, v: f32) -> i32 {
        let d = ((u - v) * 100.0) / 255.0;
        // Saturating where C would overflow (only for non-finite or huge
        // luma handed to `hash_luma`).
        (d as i32).saturating_abs()
    }
    let mut sum: i32 = 0;
    for (upper, lower) in a.iter().zip(&a[1..]) {
        for (&u, &v) in upper.iter().zip(lower) {
            sum = sum.saturating_add(step(u, v));
        }
    }
    for row in a.iter() {
        for (&u, &v) in row.iter().zip(&row[1..]) {
            sum = sum.saturating_add(step(u, v));
        }
    }
    // Integer division as in C (truncating); the sum is never negative for
    // finite input.
    let q = sum / 90;
    q.clamp(0, 100) as u8
}

/// `B = D A Dᵀ` restricted to frequencies 1..=16, with each dot product
/// accumulated in float32 from 0.0 in increasing `k`, as the reference does.
/// Lanes of the inner loops are independent dot products, so vectorising
/// across them does not change any result bit.
pub(crate) fn dct64_to_16(a: &[[f32; 64]; 64]) -> [[f32; 16]; 16] {
    let mut t = [[0f32; 64]; 16];
    for (trow, drow) in t.iter_mut().zip(DCT.iter()) {
        for (d, arow) in drow.iter().zip(a.iter()) {
            for (tv, av) in trow.iter_mut().zip(arow.iter()) {
                *tv += d * av;
            }
        }
    }
    let mut b = [[0f32; 16]; 16];
    for (brow, trow) in b.iter_mut().zip(t.iter()) {
        for (tv, dcol) in trow.iter().zip(DCT_T.iter()) {
            for (bv, dv) in brow.iter_mut().zip(dcol.iter()) {
                *bv += tv * dv;
            }
        }
    }
    b
}

/// Torben Mogensen's median selection, as the reference runs it on the 256
/// DCT coefficients (its result for an even count is the lower median, or a
/// midpoint guess when values tie).
pub(crate) fn torben(m: &[f32]) -> f32 {
    let n = m.len();
    let Some(&first) = m.first() else {
        return 0.0;
    };
    let (mut min, mut max) = (first, first);
    for &v in &m[1..] {
        if v < min {
            min = v;
        }
        if v > max {
            max = v;
        }
    }
    let half = n.div_ceil(2);
    // The reference loops until the bracket closes. For finite coefficients
    // of bounded magnitude it always does; a cap keeps pathological input
    // (huge or non-finite luma passed to `hash_luma`) from spinning forever.
    let (mut less, mut equal, mut guess, mut maxltguess, mut mingtguess);
    let mut rounds = 0u32;
    loop {
        guess = (min + max) / 2.0;
        less = 0usize;
        let mut greater = 0usize;
        equal = 0usize;
        maxltguess = min;
        mingtguess = max;
        for &v in m {
            if v < guess {
                less += 1;
                if v > maxltguess {
                    maxltguess = v;
                }
            } else if v > guess {
                greater += 1;
                if v < mingtguess {
                    mingtguess = v;
                }
            } else {
                equal += 1;
            }
        }
        rounds += 1;
        if (less <= half && greater <= half) || rounds > 10_000 {
            break;
        } else if less > greater {
            max = maxltguess;
        } else {
            min = mingtguess;
        }
    }
    if less >= half {
        maxltguess
    } else if less + equal >= half {
        guess
    } else {
        mingtguess
    }
}

/// One bit per coefficient: set when strictly above the median.
pub(crate) fn to_bits(b: &[[f32; 16]; 16]) -> PdqHash {
    let flat: &[f32] = b.as_flattened();
    let median = torben(flat);
    let mut words = [0u16; 16];
    for (word, row) in words.iter_mut().zip(b.iter()) {
        for (j, &v) in row.iter().enumerate() {
            if v > median {
                *word |= 1 << j;
            }
        }
    }
    PdqHash::from_words(words)
}

/// The eight dihedral variants of the 16×16 DCT, in the order original,
/// rot90, rot180, rot270, flip-x, flip-y, flip-plus-1, flip-minus-1: the
/// DCT of a rotated or mirrored image is a transpose and/or a checkerboard of
/// sign changes of the original's.
pub(crate) fn dihedral_bits(a: &[[f32; 16]; 16]) -> [PdqHash; 8] {
    // (transpose, negate when) with `neg(i, j)` in the source's indices.
    fn variant(a: &[[f32; 16]; 16], transpose: bool, neg: fn(usize, usize) -> bool) -> PdqHash {
        let mut b = [[0f32; 16]; 16];
        for (i, row) in a.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                let v = if neg(i, j) { -v } else { v };
                if transpose {
                    b[j][i] = v;
                } else {
                    b[i][j] = v;
                }
            }
        }
        to_bits(&b)
    }
    [
        to_bits(a),
        variant(a, true, |_, j| j & 1 == 0),
        variant(a, false, |i, j| (i + j) & 1 == 1),
        variant(a, true, |i, _| i & 1 == 0),
        variant(a, false, |i, _| i & 1 == 0),
        variant(a, false, |_, j| j & 1 == 0),
        variant(a, true, |_, _| false),
        variant(a, true, |i, j| (i + j) & 1 == 1),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dct_matrix_matches_formula() {
        // Where the platform's cos is correctly rounded this reproduces the
        // table; allow a last-place difference in the f64 cos elsewhere.
        let scale = (2.0f64 / 64.0).sqrt() as f32;
        for (i, row) in DCT.iter().enumerate() {
            for (j, &got) in row.iter().enumerate() {
                let want = (f64::from(scale)
                    * (std::f64::consts::PI / 2.0 / 64.0 * (i + 1) as f64 * (2 * j + 1) as f64).cos())
                    as f32;
                assert!(
                    (want.to_bits() as i64 - got.to_bits() as i64).abs() <= 1,
                    "dct[{i}][{j}] = {got} want {want}"
                );
            }
        }
    }

    #[test]
    fn torben_is_lower_median_without_ties() {
        let v: Vec<f32> = (0..256).map(|i| ((i * 37) % 256) as f32).collect();
        assert_eq!(torben(&v), 127.0);
        let v = [3.0f32, 1.0, 2.0];
        assert_eq!(torben(&v), 2.0);
        assert_eq!(torben(&[5.0; 256]), 5.0);
    }
}

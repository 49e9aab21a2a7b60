// RUN: echo previous > %t.keep
// RUN: not lamina-opt %s -o %t.keep 2>&1 | filecheck %s --check-prefix=ERR
// RUN: filecheck %s --check-prefix=KEEP < %t.keep
// A failing run leaves an existing output file as it was.

// ERR: error: undefined value '%nope'
// KEEP: previous
func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {
  func.return %nope : tensor<2xf32>
}

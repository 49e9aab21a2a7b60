// RUN: cat %s | lamina-opt - | filecheck %s
// `-` reads the program from stdin.

// CHECK-LABEL: func.func @from_stdin
func.func @from_stdin(%x: tensor<2xf32>) -> tensor<2xf32> {
  func.return %x : tensor<2xf32>
}

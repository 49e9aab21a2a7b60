// RUN: lamina-opt %s -p fold-constants | filecheck %s
// A blob given in the file is read back into numbers: folding 2*w gives the doubled values.

// CHECK-LABEL: func.func @blob
// CHECK: graph.const dense<[2.0, 4.0]> : tensor<2xf32>
func.func @blob() -> tensor<2xf32> {
  %w = graph.const dense_resource<weights> : tensor<2xf32>
  %two = graph.const dense<2.0> : tensor<2xf32>
  %y = graph.mul %w, %two : tensor<2xf32>
  func.return %y : tensor<2xf32>
}

{-#
  dialect_resources: {
    builtin: {
      weights: "0x040000000000803F00000040"
    }
  }
#-}

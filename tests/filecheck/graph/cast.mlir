// RUN: lamina-opt %s | filecheck %s

// CHECK-LABEL: func.func @casts
func.func @casts(%a: tensor<2x3xf32>) -> tensor<2x3xf16> {
  // CHECK: %i = graph.cast %a {to = i32} : tensor<2x3xi32>
  %i = graph.cast %a {to = i32}
  // CHECK: %h = graph.cast %i {to = f16} : tensor<2x3xf16>
  %h = graph.cast %i {to = f16}
  func.return %h : tensor<2x3xf16>
}

// RUN: lamina-opt %s | filecheck %s

// CHECK-LABEL: func.func @two() -> (tensor<2xf32>, tensor<2xi32>)
// CHECK: func.return %a, %b : tensor<2xf32>, tensor<2xi32>
func.func @two() -> (tensor<2xf32>, tensor<2xi32>) {
  %a = graph.const dense<[1.0, 2.0]> : tensor<2xf32>
  %b = graph.const dense<[3, 4]> : tensor<2xi32>
  func.return %a, %b : tensor<2xf32>, tensor<2xi32>
}

// CHECK-LABEL: func.func @none()
// CHECK-NEXT: func.return
func.func @none() {
  func.return
}

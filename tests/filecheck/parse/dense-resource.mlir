// RUN: lamina-opt %s | filecheck %s
// RUN: lamina-opt %s | lamina-opt - | filecheck %s
// Constants over 16 elements print as resource blobs, not literal lists.

// CHECK-LABEL: func.func @big
// CHECK: %w = graph.const dense_resource<w> : tensor<17xf32>
// CHECK: dialect_resources
// CHECK: builtin
// CHECK: w: "0x04000000
func.func @big() -> tensor<17xf32> {
  %w = graph.const dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0]> : tensor<17xf32>
  func.return %w : tensor<17xf32>
}

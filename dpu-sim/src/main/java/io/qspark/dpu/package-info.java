/**
 * The deploy model and the integer DPU simulator. The format and its simulator land with the
 * deploy issue; this package exists so the module layout is fixed from the start.
 */
package io.qspark.dpu;

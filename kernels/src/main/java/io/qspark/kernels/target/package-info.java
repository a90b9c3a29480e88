/** DPU targets as data (conf/targets/*.yaml, read strictly) and the partitioner that says which node runs on the DPU, which on the CPU, and why. */
package io.qspark.kernels.target;

/** qspark's JSON: one writer with a fixed layout, so equal trees give equal bytes (quant_info.json, reports). */
package io.qspark.kernels.io;

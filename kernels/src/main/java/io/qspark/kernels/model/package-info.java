/** A float model ready to run: the imported graph prepared (constants folded, shapes known), its batch mode (dynamic, freed from a fixed export, or chunked) and its provenance. */
package io.qspark.kernels.model;

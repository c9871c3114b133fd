/* version.h — assetd's version, printed by `assetd --version` and in the
 * service's build information. */
#ifndef AD_BASE_VERSION_H
#define AD_BASE_VERSION_H

#define AD_VERSION "0.5.0"

#endif

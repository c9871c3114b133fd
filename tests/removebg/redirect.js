// preload: send remove.bg's one endpoint to assetd (the library is not changed)
const unirest = require('unirest');
const post = unirest.post;
unirest.post = function (url, ...rest) {
  if (url === 'https://api.remove.bg/v1.0/removebg') url = process.env.ASSETD_REMOVEBG_URL;
  return post.call(this, url, ...rest);
};

package mattermost

// DMsAtOnce is dmsAtOnce, for the tests of the package's users.
const DMsAtOnce = dmsAtOnce

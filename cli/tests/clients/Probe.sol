// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// The attribution precompile's read-only surface.
interface IAttribution {
    function governor() external view returns (address);
    function isKeyAllowed(bytes32 vkHash) external view returns (bool);
}

/// A contract the client tests deploy: it emits logs, reverts with a
/// reason, and calls the attribution precompile from Solidity.
contract Probe {
    event Ping(address indexed from, uint256 value, string note);

    IAttribution constant ATTRIBUTION = IAttribution(address(uint160(0x4c4e0001)));
    uint256 public total;

    function ping(uint256 value, string calldata note) external {
        total += value;
        emit Ping(msg.sender, value, note);
    }

    function fail(uint256 value) external pure returns (uint256) {
        require(value < 10, "too large");
        return value;
    }

    function attributionGovernor() external view returns (address) {
        return ATTRIBUTION.governor();
    }

    function keyAllowed(bytes32 vkHash) external view returns (bool) {
        return ATTRIBUTION.isKeyAllowed(vkHash);
    }
}
